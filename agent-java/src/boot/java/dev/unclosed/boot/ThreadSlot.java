package dev.unclosed.boot;

/** What the recorder keeps per thread: its id, whether it may record now, its stack capture. */
final class ThreadSlot {
    final int id;
    final String name;
    /** The JVM's own thread that frees memory once the GC has found its owner unreachable. */
    final boolean cleaner;
    /** The JVM's finalizer thread: what it releases, nobody released (JDK 11's finalizing flaters). */
    final boolean finalizer;
    /** Recording now, or never records (the agent's own threads): advice calls return at once. */
    boolean busy;
    /** Depth of the agent's own work on this thread (Recorder.beginAgentWork), and what busy was before it. */
    int agentWork;
    boolean busyBeforeAgentWork;
    int nextObject;
    /** The session this thread is known to (its name was listed for the readers). */
    Session registeredIn;
    private StackCapture capture;

    ThreadSlot(int id, Thread thread, boolean agent) {
        this.id = id;
        this.name = thread.getName();
        this.cleaner = isCleaner(thread);
        this.finalizer = thread.getClass().getName().equals("java.lang.ref.Finalizer$FinalizerThread");
        this.busy = agent;
    }

    StackCapture capture(int depth) {
        StackCapture c = capture;
        if (c == null || c.depth != depth) capture = c = new StackCapture(depth);
        return c;
    }

    /**
     * The Reference Handler runs the cleaners of direct buffers (JDK 8 to 25); a JDK that moves
     * them to {@code java.lang.ref.Cleaner} runs them on Common-Cleaner.
     */
    static boolean isCleaner(Thread thread) {
        String type = thread.getClass().getName();
        return type.equals("java.lang.ref.Reference$ReferenceHandler")
                || (type.endsWith(".InnocuousThread") && thread.getName().equals("Common-Cleaner"));
    }
}
