package dev.unclosed.instrument;

import static net.bytebuddy.matcher.ElementMatchers.isConstructor;
import static net.bytebuddy.matcher.ElementMatchers.isStatic;
import static net.bytebuddy.matcher.ElementMatchers.named;
import static net.bytebuddy.matcher.ElementMatchers.nameStartsWith;
import static net.bytebuddy.matcher.ElementMatchers.namedOneOf;
import static net.bytebuddy.matcher.ElementMatchers.not;
import static net.bytebuddy.matcher.ElementMatchers.returns;
import static net.bytebuddy.matcher.ElementMatchers.takesArguments;

import dev.unclosed.boot.Kinds;
import dev.unclosed.boot.Recorder;
import dev.unclosed.core.AgentLog;
import dev.unclosed.core.Rule;
import java.lang.instrument.Instrumentation;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Set;
import net.bytebuddy.agent.builder.AgentBuilder;
import net.bytebuddy.agent.builder.ResettableClassFileTransformer;
import net.bytebuddy.asm.Advice;
import net.bytebuddy.description.type.TypeDescription;
import net.bytebuddy.dynamic.DynamicType;
import net.bytebuddy.utility.JavaModule;

/**
 * Installs the advice, retransforming classes already loaded (always the case on attach, often
 * at startup too). No new fields or methods are added to any class, so that retransformation
 * and a later reset both work.
 */
public final class Installer {
    /** The stream interpreter shell of Akka (2.5, 2.6) and of Apache Pekko (1.x): the same code. */
    private static final String[] STREAM_SHELLS = {
        "akka.stream.impl.fusing.GraphInterpreterShell", "org.apache.pekko.stream.impl.fusing.GraphInterpreterShell",
    };

    private Installer() {}

    public static ResettableClassFileTransformer install(Instrumentation inst, List<Rule> rules) {
        Set<String> targets = new HashSet<>(Arrays.asList("java.util.zip.Inflater", "java.util.zip.Deflater",
                "java.nio.DirectByteBuffer$Deallocator"));
        targets.addAll(Arrays.asList(STREAM_SHELLS));
        for (Rule rule : rules) targets.add(rule.className);
        AgentBuilder builder = withoutNexus()
                .disableClassFormatChanges()
                .with(AgentBuilder.RedefinitionStrategy.RETRANSFORMATION)
                .with(new LoadedTargets(targets))
                .with(AgentBuilder.InitializationStrategy.NoOp.INSTANCE)
                .with(AgentBuilder.TypeStrategy.Default.REDEFINE)
                .with(new ErrorListener())
                // Replaces ByteBuddy's default, which ignores every boot class: the JDK's are our targets.
                .ignore(nameStartsWith("net.bytebuddy.").or(nameStartsWith("dev.unclosed.")))
                .type(named("java.util.zip.Inflater"))
                .transform((b, type, loader, module, domain) -> b
                        .visit(Advice.to(ZlibAdvice.InflaterCreated.class).on(isConstructor().and(takesArguments(boolean.class))))
                        .visit(Advice.to(ZlibAdvice.Ended.class).on(named("end").and(takesArguments(0)))))
                .type(named("java.util.zip.Deflater"))
                .transform((b, type, loader, module, domain) -> b
                        .visit(Advice.to(ZlibAdvice.DeflaterCreated.class).on(isConstructor().and(takesArguments(int.class, boolean.class))))
                        .visit(Advice.to(ZlibAdvice.Ended.class).on(named("end").and(takesArguments(0)))))
                .type(named("java.nio.DirectByteBuffer$Deallocator"))
                .transform((b, type, loader, module, domain) -> b
                        .visit(Advice.to(DirectAdvice.class).on(isConstructor().and(takesArguments(long.class, long.class, int.class))))
                        .visit(Advice.to(ReleaseAdvice.class).on(named("run").and(takesArguments(0)))))
                .type(namedOneOf(STREAM_SHELLS))
                .transform((b, type, loader, module, domain) -> b
                        .visit(Advice.to(StreamAdvice.Materialized.class).on(named("logics_$eq").and(takesArguments(1))))
                        .visit(Advice.to(StreamAdvice.Ran.class).on(
                                named("runBatch").and(takesArguments(int.class)).or(named("tryAbort").and(takesArguments(1))))));
        for (Rule rule : rules) builder = withRule(builder, rule);
        return builder.installOn(inst);
    }

    /**
     * ByteBuddy's default builder prepares its Nexus (for type initializers, which advice without
     * class format changes never needs), and on JDK 24+ that calls sun.misc.Unsafe, which makes
     * the JVM print four warnings into the application's output. The property that skips it is
     * read once, here, by the agent's own copy of ByteBuddy; the application's is untouched.
     */
    private static AgentBuilder withoutNexus() {
        String property = "net.bytebuddy.nexus.disabled";
        String before = System.getProperty(property);
        System.setProperty(property, "true");
        try {
            return new AgentBuilder.Default();
        } finally {
            if (before == null) System.clearProperty(property);
            else System.setProperty(property, before);
        }
    }

    /** A rule's class: its acquire point tracks what it creates or returns, its release methods release. */
    private static AgentBuilder withRule(AgentBuilder builder, Rule rule) {
        int kind = Kinds.register(rule.className, rule.family, rule.bytes, rule.skip.toArray(new String[0]));
        Advice.WithCustomMapping mapping = Advice.withCustomMapping().bind(RuleAdvice.KindId.class, kind);
        Advice acquire = rule.byConstructor()
                ? mapping.to(RuleAdvice.Constructed.class)
                : mapping.to(RuleAdvice.Returned.class);
        return builder.type(named(rule.className))
                .transform((b, type, loader, module, domain) -> b
                        .visit(acquire.on(rule.byConstructor()
                                ? isConstructor()
                                : named(rule.acquire).and(not(returns(void.class)))))
                        .visit(Advice.to(ReleaseAdvice.class).on(namedOneOf(rule.release.toArray(new String[0])).and(not(isStatic())))));
    }

    /**
     * The loaded classes to retransform: those with a target's name (every matcher above is by
     * name), found by comparing names rather than by running ByteBuddy's matchers over every
     * loaded class, which was most of the time an attach took. Scanned again until nothing new
     * turns up, as ByteBuddy's Reiterating strategy does: a class being defined while the
     * transformer was registered is in neither (seen: DirectByteBuffer$Deallocator on JDK 25).
     */
    private static final class LoadedTargets implements AgentBuilder.RedefinitionStrategy.DiscoveryStrategy {
        private final Set<String> names;

        LoadedTargets(Set<String> names) {
            this.names = names;
        }

        @Override
        public Iterable<Iterable<Class<?>>> resolve(Instrumentation inst) {
            Set<Class<?>> seen = new HashSet<>();
            return () -> new Iterator<Iterable<Class<?>>>() {
                private List<Class<?>> pending;

                @Override
                public boolean hasNext() {
                    if (pending == null) {
                        pending = new ArrayList<>();
                        for (Class<?> type : inst.getAllLoadedClasses()) {
                            if (names.contains(type.getName()) && seen.add(type)) pending.add(type);
                        }
                    }
                    return !pending.isEmpty();
                }

                @Override
                public Iterable<Class<?>> next() {
                    if (!hasNext()) throw new NoSuchElementException();
                    List<Class<?>> batch = pending;
                    pending = null;
                    return batch;
                }
            };
        }
    }

    /**
     * Counts and logs what could not be instrumented (readers learn that objects may have gone
     * unseen); the application carries on.
     */
    private static final class ErrorListener extends AgentBuilder.Listener.Adapter {
        @Override
        public void onError(String typeName, ClassLoader loader, JavaModule module, boolean loaded, Throwable throwable) {
            Recorder.instrumentationError(throwable);
            AgentLog.write("cannot instrument " + typeName + ": " + throwable);
        }

        @Override
        public void onTransformation(TypeDescription type, ClassLoader loader, JavaModule module, boolean loaded,
                DynamicType dynamicType) {
            AgentLog.write("instrumented " + type.getName() + (loaded ? " (retransformed)" : ""));
        }
    }
}
