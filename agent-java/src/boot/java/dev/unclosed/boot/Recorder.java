package dev.unclosed.boot;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;

/**
 * What instrumented code calls: {@link #track} when a resource is created and {@link #close}
 * when it is released, and what the agent's core asks of the session. Lives on the boot class
 * path so that JDK classes can see it; holds no strong reference to any tracked object; never
 * throws into the caller.
 */
public final class Recorder {
    private static final AtomicInteger THREAD_IDS = new AtomicInteger();
    /** Set on the agent's own threads, and so inherited by the threads they start (py4j's). */
    private static final InheritableThreadLocal<Boolean> AGENT_THREAD = new InheritableThreadLocal<>();
    private static final ThreadLocal<ThreadSlot> SLOTS = new ThreadLocal<ThreadSlot>() {
        @Override
        protected ThreadSlot initialValue() {
            return new ThreadSlot(THREAD_IDS.incrementAndGet(), Thread.currentThread(), AGENT_THREAD.get() != null);
        }
    };

    private static volatile Session session;

    private Recorder() {}

    // -- what advice calls ----------------------------------------------------------------------

    private static final int TRACK = 0;
    private static final int TRACK_STREAM = 1;
    private static final int CLOSE = 2;

    /** A resource of a rule's kind was constructed or returned; its size is the kind's. */
    public static void track(Object resource, int kind) {
        record(TRACK, resource, resource, kind, -1, null);
    }

    /** A resource of this kind and size was constructed (a direct buffer's memory). */
    public static void track(Object resource, int kind, long bytes) {
        record(TRACK, resource, resource, kind, bytes, null);
    }

    /**
     * An Inflater or Deflater was constructed, holding the native state {@code state}, by which
     * it is found from now on: a copy that shares it (a Mockito spy) is the same object to us,
     * and {@code end()} on either releases it. No state (a mock): nothing was allocated.
     */
    public static void trackZlib(Object flater, Object state, int kind) {
        if (state != null) record(TRACK, flater, zlibKey(flater, state), kind, -1, null);
    }

    /** An Inflater or Deflater was ended ({@code end()}, {@code close()}): see {@link #trackZlib}. */
    public static void closeZlib(Object flater, Object state) {
        if (state != null) record(CLOSE, flater, zlibKey(flater, state), 0, 0, null);
    }

    /**
     * A flater is found by its native state, except on JDK 11 for a subclass that declares
     * {@code end()}: its state there is a {@code FinalizableZStreamRef}, which holds the flater
     * itself strongly (holding it would keep the flater alive), and no copy shares it.
     */
    private static Object zlibKey(Object flater, Object state) {
        return state.getClass().getName().endsWith("$FinalizableZStreamRef") ? flater : state;
    }

    /**
     * An Akka or Pekko stream's interpreter shell has been given its stage logics, on the
     * thread that materializes the stream: the stream runs from now on.
     */
    public static void trackStream(Object shell, Object[] logics) {
        record(TRACK_STREAM, shell, shell, Kinds.STREAM, 0, logics);
    }

    /** A resource found by {@code key} was released by its owner ({@code end()}, {@code close()}). */
    public static void close(Object key) {
        record(CLOSE, key, key, 0, 0, null);
    }

    /** {@link #close} when {@code released}: advice that checks a state after a method (has a stream completed?). */
    public static void closeIf(boolean released, Object key) {
        if (released) record(CLOSE, key, key, 0, 0, null);
    }

    /**
     * Every advice call comes here: never throws, never records itself or the agent's threads.
     * {@code bytes} below 0: the kind's estimate.
     */
    private static void record(int op, Object resource, Object key, int kind, long bytes, Object[] logics) {
        Session s = session;
        if (s == null || resource == null || key == null) return;
        ThreadSlot slot = SLOTS.get();
        if (slot.busy) return;
        slot.busy = true;
        try {
            if (op == CLOSE) {
                s.close(key, slot);
            } else if (op == TRACK_STREAM) {
                StreamStages stages = StreamStages.of(logics);
                s.track(resource, key, Kinds.get(kind), 0, stages.detail(), stages.kindName(), slot);
            } else {
                Kind k = Kinds.get(kind);
                s.track(resource, key, k, bytes < 0 ? k.bytes : bytes, null, null, slot);
            }
        } catch (Throwable t) {
            s.error(t);
        } finally {
            slot.busy = false;
        }
    }

    /** A test framework started a test: objects created until it finishes, on any thread, are its. */
    public static void testStarted(String name) {
        Session s = session;
        if (s != null && name != null) s.tests.started(name);
    }

    public static void testFinished(String name) {
        Session s = session;
        if (s != null && name != null) s.tests.finished(name);
    }

    // -- what the agent's core calls ------------------------------------------------------------

    /**
     * The agent's own threads never record: what they create is the agent's, not the app's. Nor
     * do the threads they start.
     */
    public static void ignoreCurrentThread() {
        AGENT_THREAD.set(Boolean.TRUE);
        SLOTS.get().busy = true;
    }

    /**
     * The agent works on a thread of the application's (its own start in premain or on attach,
     * a class transformed as it loads, a log line): what it creates meanwhile is the agent's,
     * not the application's. Pairs with {@link #endAgentWork}; nests.
     */
    public static void beginAgentWork() {
        ThreadSlot slot = SLOTS.get();
        if (slot.agentWork++ == 0) {
            slot.busyBeforeAgentWork = slot.busy;
            slot.busy = true;
        }
    }

    public static void endAgentWork() {
        ThreadSlot slot = SLOTS.get();
        if (slot.agentWork > 0 && --slot.agentWork == 0) slot.busy = slot.busyBeforeAgentWork;
    }

    /** Starts a session; false if one runs. Tracking is not said to have begun until {@link #trackingActive}. */
    public static synchronized boolean start(int depth, int maxEvents, int maxSites, int maxTracked, int sample) {
        if (session != null) return false;
        Session s = new Session(depth, maxEvents, maxSites, maxTracked, sample);
        session = s;
        Thread reaper = new Thread(s::reap, "unclosed-reaper");
        reaper.setDaemon(true);
        reaper.start();
        return true;
    }

    /** The instrumentation is active: every object created from now on is seen. Returns that time. */
    public static long trackingActive() {
        Session s = session;
        if (s == null) return 0;
        if (s.trackingSinceMs == 0) s.trackingSinceMs = System.currentTimeMillis();
        return s.trackingSinceMs;
    }

    /** Stops tracking and forgets everything tracked. */
    public static synchronized void stop() {
        Session s = session;
        session = null;
        if (s != null) s.stop();
    }

    public static boolean isTracking() {
        return session != null;
    }

    /** Epoch ms when tracking began (the instrumentation active), or 0. */
    public static long trackingSinceMs() {
        Session s = session;
        return s == null ? 0 : s.trackingSinceMs;
    }

    /** 1 in how many objects is tracked (1: all); 0 when not tracking. */
    public static int sample() {
        Session s = session;
        return s == null ? 0 : s.sample;
    }

    /** See {@link Session#drain}; null when not tracking. */
    public static Drain drain(int sitesKnown, int threadsKnown, int testsKnown, long inFlightMs) {
        Session s = session;
        return s == null ? null : s.drain(sitesKnown, threadsKnown, testsKnown, inFlightMs);
    }

    /** Every counting site's totals now; empty when not tracking. */
    public static List<SiteTotals> totals() {
        Session s = session;
        List<SiteTotals> all = new ArrayList<>();
        if (s == null) return all;
        for (Site site : s.sites.counting()) all.add(site.totals());
        return all;
    }

    /** The session's own counters now. */
    public static Status status() {
        Session s = session;
        if (s == null) return new Status(0, 0, 0, 0, 0, 0, 0);
        return new Status(s.table.size(), s.journal.pending(), s.journal.dropped(), s.droppedObjects.sum(), s.sites.dropped(),
                s.errors.sum(), s.instrumentationErrors.sum());
    }

    /**
     * Tracks from now on an object that existed before tracking began (found at attach): no
     * stack, no age. It is found by identity of {@code resource}, as the advice of its kind finds
     * it at its release (a zlib object's native state, a direct buffer's Deallocator).
     * {@code ended}: whether it was released since it was found (see {@link Session#adopt}).
     * Returns whether it was adopted: false if tracked already (created since tracking began).
     */
    public static boolean adopt(Object resource, int kind, long bytes, BooleanSupplier ended) {
        return adopt(resource, Kinds.get(kind), bytes, null, null, ended);
    }

    /** {@link #adopt} for a running stream's interpreter shell, named by its stages as {@link #trackStream} names it. */
    public static boolean adoptStream(Object shell, Object[] logics, BooleanSupplier ended) {
        StreamStages stages = StreamStages.of(logics);
        return adopt(shell, Kinds.get(Kinds.STREAM), 0, stages.kindName(), stages.detail(), ended);
    }

    private static boolean adopt(Object resource, Kind kind, long bytes, String kindName, String detail, BooleanSupplier ended) {
        Session s = session;
        if (s == null || resource == null) return false;
        try {
            return s.adopt(resource, kind, bytes, kindName, detail, ended);
        } catch (Throwable t) {
            s.error(t);
            return false;
        }
    }

    /** Records an error of the agent's own; the caller carries on. */
    public static void error(Throwable t) {
        Session s = session;
        if (s != null) s.error(t);
    }

    /** A class the agent could not instrument: objects of its kind may go unseen, which readers must know. */
    public static void instrumentationError(Throwable t) {
        Session s = session;
        if (s != null) s.instrumentationError(t);
    }

    /** The session's own counters at one moment. */
    public static final class Status {
        public final long held;
        public final long pendingEvents;
        public final long droppedEvents;
        /** Objects not tracked: {@code max_tracked} were tracked at the time. */
        public final long droppedObjects;
        /** Stacks folded into an overflow site past {@code max_sites}: counted, with no stack of their own. */
        public final long droppedSites;
        public final long errors;
        public final long instrumentationErrors;

        Status(long held, long pendingEvents, long droppedEvents, long droppedObjects, long droppedSites, long errors,
                long instrumentationErrors) {
            this.held = held;
            this.pendingEvents = pendingEvents;
            this.droppedEvents = droppedEvents;
            this.droppedObjects = droppedObjects;
            this.droppedSites = droppedSites;
            this.errors = errors;
            this.instrumentationErrors = instrumentationErrors;
        }
    }
}
