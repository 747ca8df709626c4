package dev.unclosed.instrument;

import dev.unclosed.boot.Recorder;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import net.bytebuddy.asm.Advice;
import net.bytebuddy.implementation.bytecode.assign.Assigner;

/**
 * Advice for the resources a rules file names: the rule's kind id is bound into the code as a
 * constant ({@link KindId}). A release method gets {@link ReleaseAdvice}.
 */
final class RuleAdvice {
    private RuleAdvice() {}

    /** The kind id of the rule whose advice this is. */
    @Retention(RetentionPolicy.RUNTIME)
    @Target(ElementType.PARAMETER)
    @interface KindId {}

    /** On the class's constructors: the new object is the resource (tracked once, however many constructors run). */
    static final class Constructed {
        @Advice.OnMethodExit(suppress = Throwable.class)
        static void exit(@Advice.This Object self, @KindId int kind) {
            Recorder.track(self, kind);
        }
    }

    /** On an acquire method: what it returns is the resource. */
    static final class Returned {
        @Advice.OnMethodExit(suppress = Throwable.class)
        static void exit(@Advice.Return(typing = Assigner.Typing.DYNAMIC) Object resource, @KindId int kind) {
            Recorder.track(resource, kind);
        }
    }
}
