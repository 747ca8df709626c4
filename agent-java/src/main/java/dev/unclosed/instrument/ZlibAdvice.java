package dev.unclosed.instrument;

import dev.unclosed.boot.Kinds;
import dev.unclosed.boot.Recorder;
import net.bytebuddy.asm.Advice;

/**
 * Advice inlined into {@code java.util.zip.Inflater} and {@code Deflater}. Only the flaters are
 * instrumented: a stream that creates its own flater is found from the flater's creation stack,
 * and its {@code close()} ends that flater. A flater is tracked by its native state
 * ({@code zsRef}, on JDK 8 to 25), which a copy of it (a Mockito spy) shares: {@code end()} on
 * either frees it. {@code end()} is idempotent, and what {@code close()} calls on JDK 25.
 */
final class ZlibAdvice {
    private ZlibAdvice() {}

    /** On {@code Inflater(boolean)}: the no-argument constructor delegates to it. */
    static final class InflaterCreated {
        @Advice.OnMethodExit(suppress = Throwable.class)
        static void exit(@Advice.This Object self, @Advice.FieldValue("zsRef") Object state) {
            Recorder.trackZlib(self, state, Kinds.INFLATER);
        }
    }

    /** On {@code Deflater(int, boolean)}: the other constructors delegate to it. */
    static final class DeflaterCreated {
        @Advice.OnMethodExit(suppress = Throwable.class)
        static void exit(@Advice.This Object self, @Advice.FieldValue("zsRef") Object state) {
            Recorder.trackZlib(self, state, Kinds.DEFLATER);
        }
    }

    /** On {@code end()} of both. */
    static final class Ended {
        @Advice.OnMethodExit(suppress = Throwable.class)
        static void exit(@Advice.This Object self, @Advice.FieldValue("zsRef") Object state) {
            Recorder.closeZlib(self, state);
        }
    }
}
