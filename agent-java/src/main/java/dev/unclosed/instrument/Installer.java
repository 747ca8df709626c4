package dev.unclosed.instrument;

import static net.bytebuddy.matcher.ElementMatchers.isConstructor;
import static net.bytebuddy.matcher.ElementMatchers.named;
import static net.bytebuddy.matcher.ElementMatchers.nameStartsWith;
import static net.bytebuddy.matcher.ElementMatchers.takesArguments;

import dev.unclosed.boot.Recorder;
import dev.unclosed.core.AgentLog;
import java.lang.instrument.Instrumentation;
import net.bytebuddy.agent.builder.AgentBuilder;
import net.bytebuddy.agent.builder.ResettableClassFileTransformer;
import net.bytebuddy.asm.Advice;
import net.bytebuddy.description.type.TypeDescription;
import net.bytebuddy.dynamic.DynamicType;
import net.bytebuddy.utility.JavaModule;

/**
 * Installs the advice, retransforming classes already loaded (always the case on attach, often
 * at startup too). No new fields or methods are added to JDK classes, so that retransformation
 * and a later reset both work.
 */
public final class Installer {
    private Installer() {}

    public static ResettableClassFileTransformer install(Instrumentation inst) {
        return new AgentBuilder.Default()
                .disableClassFormatChanges()
                .with(AgentBuilder.RedefinitionStrategy.RETRANSFORMATION)
                .with(AgentBuilder.RedefinitionStrategy.DiscoveryStrategy.Reiterating.INSTANCE)
                .with(AgentBuilder.InitializationStrategy.NoOp.INSTANCE)
                .with(AgentBuilder.TypeStrategy.Default.REDEFINE)
                .with(new ErrorListener())
                // Replaces ByteBuddy's default, which ignores every boot class: the JDK's are our targets.
                .ignore(nameStartsWith("net.bytebuddy.").or(nameStartsWith("dev.unclosed.")))
                .type(named("java.util.zip.Inflater"))
                .transform((builder, type, loader, module, domain) -> builder
                        .visit(Advice.to(ZlibAdvice.InflaterCreated.class).on(isConstructor().and(takesArguments(boolean.class))))
                        .visit(Advice.to(ZlibAdvice.Ended.class).on(named("end").and(takesArguments(0)))))
                .type(named("java.util.zip.Deflater"))
                .transform((builder, type, loader, module, domain) -> builder
                        .visit(Advice.to(ZlibAdvice.DeflaterCreated.class).on(isConstructor().and(takesArguments(int.class, boolean.class))))
                        .visit(Advice.to(ZlibAdvice.Ended.class).on(named("end").and(takesArguments(0)))))
                .installOn(inst);
    }

    /** Counts and logs what could not be instrumented; the application carries on. */
    private static final class ErrorListener extends AgentBuilder.Listener.Adapter {
        @Override
        public void onError(String typeName, ClassLoader loader, JavaModule module, boolean loaded, Throwable throwable) {
            Recorder.error(throwable);
            AgentLog.write("cannot instrument " + typeName + ": " + throwable);
        }

        @Override
        public void onTransformation(TypeDescription type, ClassLoader loader, JavaModule module, boolean loaded,
                DynamicType dynamicType) {
            AgentLog.write("instrumented " + type.getName() + (loaded ? " (retransformed)" : ""));
        }
    }
}
