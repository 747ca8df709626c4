package dev.unclosed.instrument;

import dev.unclosed.boot.Kinds;
import dev.unclosed.boot.Recorder;
import net.bytebuddy.asm.Advice;

/**
 * On {@code java.nio.DirectByteBuffer$Deallocator(long address, long size, int capacity)}: only
 * {@code DirectByteBuffer(int)}, the allocation behind {@code ByteBuffer.allocateDirect}, creates
 * one (slices, duplicates and buffers over foreign memory do not). The Deallocator frees the
 * memory in {@code run()}, which gets {@link ReleaseAdvice}: called by an explicit clean on any
 * thread, or by the JVM's cleaner thread once the GC has found the buffer unreachable.
 */
final class DirectAdvice {
    private DirectAdvice() {}

    @Advice.OnMethodExit(suppress = Throwable.class)
    static void exit(@Advice.This Object self, @Advice.Argument(2) int capacity) {
        Recorder.track(self, Kinds.DIRECT, capacity);
    }
}
