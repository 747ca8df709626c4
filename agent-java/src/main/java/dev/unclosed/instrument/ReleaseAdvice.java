package dev.unclosed.instrument;

import dev.unclosed.boot.Recorder;
import net.bytebuddy.asm.Advice;

/**
 * On a method that releases the object it is called on: a direct
 * buffer's {@code Deallocator.run()}, the release methods a rule names. Calling it twice
 * releases once.
 */
final class ReleaseAdvice {
    private ReleaseAdvice() {}

    @Advice.OnMethodExit(suppress = Throwable.class)
    static void exit(@Advice.This Object self) {
        Recorder.close(self);
    }
}
