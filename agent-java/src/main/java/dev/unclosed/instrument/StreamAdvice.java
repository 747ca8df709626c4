package dev.unclosed.instrument;

import dev.unclosed.boot.Recorder;
import net.bytebuddy.asm.Advice;

/**
 * Advice inlined into Akka's and Apache Pekko's {@code stream.impl.fusing.GraphInterpreterShell},
 * the interpreter of one materialized stream (a stream actor can host several). Only the
 * materializer sets its stage logics ({@code logics_=}), on the thread that runs the stream:
 * that stack names the user's line. The stream has stopped once {@code interpreterCompleted} is
 * set, at the end of a batch or of an abort (the actor stopping aborts what it still hosts).
 */
final class StreamAdvice {
    private StreamAdvice() {}

    /** On {@code logics_$eq(GraphStageLogic[])}. */
    static final class Materialized {
        @Advice.OnMethodExit(suppress = Throwable.class)
        static void exit(@Advice.This Object self, @Advice.Argument(0) Object[] logics) {
            Recorder.trackStream(self, logics);
        }
    }

    /** On {@code runBatch(int)} and {@code tryAbort(Throwable)}. */
    static final class Ran {
        @Advice.OnMethodExit(suppress = Throwable.class)
        static void exit(@Advice.This Object self, @Advice.FieldValue("interpreterCompleted") boolean completed) {
            Recorder.closeIf(completed, self);
        }
    }
}
