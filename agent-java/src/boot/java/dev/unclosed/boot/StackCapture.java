package dev.unclosed.boot;

import java.lang.StackWalker.StackFrame;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.stream.Stream;

/**
 * Captures the current thread's stack into its {@link StackKey}: a {@link StackWalker} limited
 * to the agent's depth, reading only each frame's class name and bytecode index, and the method
 * name of the frames outside the JDK among the first {@link #NAMED_FRAMES}, which costs a fraction of a {@code Throwable}'s
 * stack trace and allocates no frame objects of ours. Frames become text only once per site
 * ({@link #describe}). Reflection frames are kept, as in a Throwable's stack: leaving them out
 * makes the walker check every frame's class name, a fifth of what a capture cost. One instance
 * per thread.
 */
final class StackCapture implements Function<Stream<StackFrame>, Void>, Consumer<StackFrame> {
    /** The agent's own frames above the advice are skipped: there are at most this many. */
    private static final int OWN_FRAMES = 8;
    /**
     * The frames whose method name is part of the key, when outside the JDK: two methods of one
     * class may call at the same bytecode index (tests case01() and case02() calling one helper),
     * and where that matters is near the allocation, in the application (the test methods, a few
     * frames down). A name costs the walker a lookup of ~150 ns a frame (+60% on a capture of 24
     * frames); the JDK's frames and deeper ones (the test runner's) are told apart by class and
     * index alone.
     */
    static final int NAMED_FRAMES = 10;
    private static final StackWalker WALKER = StackWalker.getInstance(StackWalker.Option.SHOW_REFLECT_FRAMES);

    final StackKey key;
    final int depth;
    private Kind kind;
    private boolean skipping;

    StackCapture(int depth) {
        this.depth = depth;
        this.key = new StackKey(depth);
    }

    /** Fills {@link #key} with the caller's stack, for objects of {@code kind} in {@code role}. */
    StackKey capture(Kind kind, char role, String detail) {
        this.kind = kind;
        key.reset(kind.id, role, detail);
        skipping = true;
        WALKER.walk(this);
        key.seal();
        return key;
    }

    @Override
    public Void apply(Stream<StackFrame> frames) {
        frames.limit(depth + OWN_FRAMES).forEach(this);
        return null;
    }

    @Override
    public void accept(StackFrame frame) {
        String className = frame.getClassName();
        if (skipping) {
            if (className.startsWith(SiteTable.AGENT_PACKAGE)) return;
            skipping = false;
        }
        boolean named = key.size < NAMED_FRAMES && !SiteTable.isJdkOrAgent(className);
        key.add(className, named ? frame.getMethodName() : null, frame.getByteCodeIndex(), kind);
    }

    /** The frames of the caller's stack as text, top first: the same frames {@link #capture} keyed. */
    static StackTraceElement[] describe(int size) {
        return WALKER.walk(frames -> {
            List<StackTraceElement> out = new ArrayList<>(size);
            frames.dropWhile(f -> f.getClassName().startsWith(SiteTable.AGENT_PACKAGE)).limit(size)
                    .forEach(f -> out.add(f.toStackTraceElement()));
            return out.toArray(new StackTraceElement[0]);
        });
    }
}
