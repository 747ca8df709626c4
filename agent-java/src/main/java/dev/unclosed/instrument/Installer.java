package dev.unclosed.instrument;

import static net.bytebuddy.matcher.ElementMatchers.isConstructor;
import static net.bytebuddy.matcher.ElementMatchers.named;
import static net.bytebuddy.matcher.ElementMatchers.nameStartsWith;
import static net.bytebuddy.matcher.ElementMatchers.namedOneOf;
import static net.bytebuddy.matcher.ElementMatchers.none;
import static net.bytebuddy.matcher.ElementMatchers.takesArguments;

import dev.unclosed.boot.Kinds;
import dev.unclosed.boot.Recorder;
import dev.unclosed.io.AgentLog;
import dev.unclosed.rules.Rule;
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
import net.bytebuddy.description.method.MethodDescription;
import net.bytebuddy.description.type.TypeDescription;
import net.bytebuddy.dynamic.DynamicType;
import net.bytebuddy.matcher.ElementMatcher;
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

    /** JUnit 4's notifier, and the JUnit Platform's adapter that feeds every launcher listener. */
    private static final String JUNIT4_NOTIFIER = "org.junit.runner.notification.RunNotifier";
    private static final String PLATFORM_ADAPTER = "org.junit.platform.launcher.core.ExecutionListenerAdapter";

    /** What installing did: the transformer that undoes it, and how each rule matched. */
    public static final class Installation {
        public final ResettableClassFileTransformer transformer;
        public final List<RuleMatch> rules;

        Installation(ResettableClassFileTransformer transformer, List<RuleMatch> rules) {
            this.transformer = transformer;
            this.rules = rules;
        }
    }

    /** The JDK's classes the agent instruments. */
    private static final String[] JDK_TARGETS = {"java.util.zip.Inflater", "java.util.zip.Deflater",
        "java.nio.DirectByteBuffer$Deallocator"};

    public static Installation install(Instrumentation inst, List<Rule> rules) {
        // Loaded first, then retransformed: a JDK class first loaded while the transformer is in
        // place would be transformed on the loading thread, and ByteBuddy, reading the JDK's
        // classes through NIO, may need that same class (a ClassCircularityError, seen with
        // DirectByteBuffer$Deallocator when the agent's own first file write loaded it).
        for (String name : JDK_TARGETS) {
            try {
                Class.forName(name, false, null);
            } catch (ClassNotFoundException e) {
                AgentLog.write("no " + name + " in this JDK");
            }
        }
        Set<String> targets = new HashSet<>(Arrays.asList(JDK_TARGETS));
        targets.addAll(Arrays.asList(JUNIT4_NOTIFIER, PLATFORM_ADAPTER));
        targets.addAll(Arrays.asList(STREAM_SHELLS));
        List<RuleMatch> matches = new ArrayList<>();
        for (Rule rule : rules) {
            targets.add(rule.className);
            matches.add(new RuleMatch(rule));
        }
        AgentBuilder builder = withoutNexus()
                .disableClassFormatChanges()
                .with(AgentBuilder.RedefinitionStrategy.RETRANSFORMATION)
                .with(new LoadedTargets(targets))
                .with(AgentBuilder.InitializationStrategy.NoOp.INSTANCE)
                .with(AgentBuilder.TypeStrategy.Default.REDEFINE)
                .with(new Listener(matches))
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
                                named("runBatch").and(takesArguments(int.class)).or(named("tryAbort").and(takesArguments(1))))))
                .type(named(JUNIT4_NOTIFIER))
                .transform((b, type, loader, module, domain) -> b
                        .visit(Advice.to(TestAdvice.JUnit4Started.class).on(named("fireTestStarted").and(takesArguments(1))))
                        .visit(Advice.to(TestAdvice.JUnit4Finished.class).on(named("fireTestFinished").and(takesArguments(1)))))
                .type(named(PLATFORM_ADAPTER))
                .transform((b, type, loader, module, domain) -> b
                        .visit(Advice.to(TestAdvice.PlatformStarted.class).on(named("executionStarted").and(takesArguments(1))))
                        .visit(Advice.to(TestAdvice.PlatformFinished.class).on(named("executionFinished").and(takesArguments(2)))));
        for (RuleMatch match : matches) builder = withRule(builder, match);
        ResettableClassFileTransformer transformer = builder.installOn(inst);
        checkLoaded(inst, matches);
        return new Installation(transformer, matches);
    }

    /** Checks the rules whose classes are loaded already; the others are checked as they load. */
    private static void checkLoaded(Instrumentation inst, List<RuleMatch> matches) {
        for (Class<?> type : inst.getAllLoadedClasses()) {
            for (RuleMatch match : matches) {
                if (type.getName().equals(match.rule.className)) logProblems(match, match.check(TypeDescription.ForLoadedType.of(type)));
            }
        }
        for (RuleMatch match : matches) {
            if (!match.loaded()) AgentLog.write("rule " + match.rule.className + ": not loaded yet, checked when it loads");
        }
    }

    private static void logProblems(RuleMatch match, List<String> problems) {
        for (String problem : problems) AgentLog.write("rule " + match.rule.className + " matches nothing: " + problem);
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
    private static AgentBuilder withRule(AgentBuilder builder, RuleMatch match) {
        Rule rule = match.rule;
        int kind = Kinds.register(rule.className, rule.family, rule.bytes, rule.skip.toArray(new String[0]));
        Advice.WithCustomMapping mapping = Advice.withCustomMapping().bind(RuleAdvice.KindId.class, kind);
        Advice acquire = rule.byConstructor()
                ? mapping.to(RuleAdvice.Constructed.class)
                : mapping.to(RuleAdvice.Returned.class);
        ElementMatcher.Junction<MethodDescription> releases = none();
        for (String name : rule.release) releases = releases.or(RuleMatch.release(name));
        ElementMatcher<MethodDescription> released = releases;
        return builder.type(named(rule.className))
                .transform((b, type, loader, module, domain) -> b
                        .visit(acquire.on(match.acquire()))
                        .visit(Advice.to(ReleaseAdvice.class).on(released)));
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
     * unseen), and checks a rule's class as it loads; the application carries on.
     */
    private static final class Listener extends AgentBuilder.Listener.Adapter {
        private final List<RuleMatch> rules;

        Listener(List<RuleMatch> rules) {
            this.rules = rules;
        }

        /** A class is being transformed, often on a thread of the application's: what ByteBuddy creates then is the agent's. */
        @Override
        public void onDiscovery(String typeName, ClassLoader loader, JavaModule module, boolean loaded) {
            Recorder.beginAgentWork();
        }

        @Override
        public void onComplete(String typeName, ClassLoader loader, JavaModule module, boolean loaded) {
            Recorder.endAgentWork();
        }

        @Override
        public void onError(String typeName, ClassLoader loader, JavaModule module, boolean loaded, Throwable throwable) {
            Recorder.instrumentationError(throwable);
            AgentLog.write("cannot instrument " + typeName + ": " + throwable);
        }

        @Override
        public void onTransformation(TypeDescription type, ClassLoader loader, JavaModule module, boolean loaded,
                DynamicType dynamicType) {
            AgentLog.write("instrumented " + type.getName() + (loaded ? " (retransformed)" : ""));
            for (RuleMatch match : rules) {
                if (!loaded && type.getName().equals(match.rule.className)) logProblems(match, match.check(type));
            }
        }
    }
}
