package dev.unclosed.boot;

import java.lang.ref.ReferenceQueue;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * What instrumented JDK code calls: {@link #track} when a resource is created and
 * {@link #close} when it is released. Lives on the boot class path so that JDK classes can see
 * it; holds no strong reference to any tracked object; never throws into the caller.
 */
public final class Recorder {
    private static final int MAX_ERROR_MESSAGES = 100;
    private static final AtomicInteger THREAD_IDS = new AtomicInteger();
    /** Set on the agent's own threads, and so inherited by the threads they start (py4j's). */
    private static final InheritableThreadLocal<Boolean> AGENT_THREAD = new InheritableThreadLocal<>();
    private static final ThreadLocal<ThreadSlot> SLOTS = new ThreadLocal<ThreadSlot>() {
        @Override
        protected ThreadSlot initialValue() {
            return new ThreadSlot(THREAD_IDS.incrementAndGet(), Thread.currentThread(), AGENT_THREAD.get() != null);
        }
    };

    private static final int TRACK = 0;
    private static final int TRACK_STREAM = 1;
    private static final int CLOSE = 2;

    private static volatile Session session;

    private Recorder() {}

    /** Called by advice when a resource of this kind has been constructed; its size is the kind's estimate. */
    public static void track(Object resource, int kind) {
        record(TRACK, resource, kind, -1, null);
    }

    /** Called by advice when a resource of this kind and size has been constructed (a direct buffer's memory). */
    public static void track(Object resource, int kind, long bytes) {
        record(TRACK, resource, kind, bytes, null);
    }

    /**
     * Called by advice when an Akka or Pekko stream's interpreter shell has been given its stage
     * logics, on the thread that materializes the stream: the stream runs from now on.
     */
    public static void trackStream(Object shell, Object[] logics) {
        record(TRACK_STREAM, shell, Kinds.STREAM, 0, logics);
    }

    /** Called by advice when a resource has been released by its owner ({@code end()}, {@code close()}). */
    public static void close(Object resource) {
        record(CLOSE, resource, 0, 0, null);
    }

    /** {@link #close} when {@code released}: advice that checks a state after a method (has a stream completed?). */
    public static void closeIf(boolean released, Object resource) {
        if (released) record(CLOSE, resource, 0, 0, null);
    }

    /** Every advice call comes here: never throws, never records itself or the agent's threads. */
    private static void record(int op, Object resource, int kind, long bytes, Object[] logics) {
        Session s = session;
        if (s == null || resource == null) return;
        ThreadSlot slot = SLOTS.get();
        if (slot.busy) return;
        slot.busy = true;
        try {
            if (op == CLOSE) {
                s.close(resource, slot);
            } else if (op == TRACK_STREAM) {
                StreamStages stages = StreamStages.of(logics);
                s.track(resource, Kinds.get(kind), bytes, stages.detail(), stages.kindName(), slot);
            } else {
                Kind k = Kinds.get(kind);
                s.track(resource, k, bytes < 0 ? k.bytes : bytes, null, null, slot);
            }
        } catch (Throwable t) {
            s.error(t);
        } finally {
            slot.busy = false;
        }
    }

    /**
     * The agent's own threads never record: what they create is the agent's, not the app's. Nor
     * do the threads they start.
     */
    public static void ignoreCurrentThread() {
        AGENT_THREAD.set(Boolean.TRUE);
        SLOTS.get().busy = true;
    }

    /**
     * Quiets the current thread of the application's while the agent works on it (its own start,
     * in premain or on attach: what it creates there is the agent's), then lets it record again.
     */
    public static void quietCurrentThread(boolean quiet) {
        SLOTS.get().busy = quiet;
    }

    /** Starts tracking; false if already tracking. */
    public static synchronized boolean start(int depth, int maxEvents, int maxSites, int maxTracked, int sample) {
        if (session != null) return false;
        Session s = new Session(depth, maxEvents, maxSites, maxTracked, sample);
        session = s;
        Thread reaper = new Thread(s::reap, "unclosed-reaper");
        reaper.setDaemon(true);
        reaper.start();
        return true;
    }

    /** Stops tracking and forgets everything tracked. */
    public static synchronized void stop() {
        Session s = session;
        session = null;
        if (s != null) s.table.clear();
    }

    public static boolean isTracking() {
        return session != null;
    }

    /** Epoch ms when tracking began, or 0. */
    public static long trackingSinceMs() {
        Session s = session;
        return s == null ? 0 : s.sinceMs;
    }

    /** {held, bytes held} of each family (zlib, direct, ...) now; empty when not tracking. */
    public static java.util.Map<String, long[]> heldByFamily() {
        java.util.Map<String, long[]> families = new java.util.TreeMap<>();
        Session s = session;
        if (s == null) return families;
        for (Site site : s.sites.creationSites()) {
            long[] t = site.totals();
            long[] f = families.computeIfAbsent(site.family, k -> new long[2]);
            f[0] += t[3];
            f[1] += t[4];
        }
        return families;
    }

    /** 1 in how many objects is tracked (1: all); 0 when not tracking. */
    public static int sample() {
        Session s = session;
        return s == null ? 0 : s.sample;
    }

    /** Everything new since the previous drain; null when not tracking. */
    public static Drain drain() {
        Session s = session;
        return s == null ? null : s.drain();
    }

    /** Counters for a status line: {held, pending events, dropped events, errors}. */
    public static long[] status() {
        Session s = session;
        if (s == null) return new long[4];
        return new long[] {s.table.size(), s.journal.pending(), s.journal.dropped(), s.errors.sum()};
    }

    /** Records an error of the agent's own; the caller carries on. */
    public static void error(Throwable t) {
        Session s = session;
        if (s != null) s.error(t);
    }

    private static final class ThreadSlot {
        final int id;
        final String name;
        /** The JVM's own thread that frees memory once the GC has found its owner unreachable. */
        final boolean cleaner;
        boolean busy;
        int nextObject;
        Session registeredIn;

        ThreadSlot(int id, Thread thread, boolean agent) {
            this.id = id;
            this.name = thread.getName();
            this.cleaner = isCleaner(thread);
            this.busy = agent;
        }
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

    /** The state of one tracking session, from start (or attach) to stop (or detach). */
    private static final class Session {
        final long sinceMs = System.currentTimeMillis();
        final SiteTable sites;
        final TrackedTable table = new TrackedTable();
        final Journal journal;
        final ReferenceQueue<Object> queue = new ReferenceQueue<>();
        final int maxTracked;
        /** Track 1 object in this many (per thread, before any stack is taken); 1: all. */
        final int sample;
        final LongAdder droppedObjects = new LongAdder();
        final LongAdder errors = new LongAdder();
        private final ArrayDeque<String[]> errorMessages = new ArrayDeque<>();
        private final List<String[]> newThreads = new ArrayList<>();

        Session(int depth, int maxEvents, int maxSites, int maxTracked, int sample) {
            sites = new SiteTable(depth, maxSites);
            journal = new Journal(maxEvents);
            this.maxTracked = maxTracked;
            this.sample = sample;
        }

        /**
         * {@code detail} and {@code kindName}: see {@link SiteTable#creationSite(StackTraceElement[], Kind, String, String)};
         * both null for most kinds. An object already tracked (a constructor calling another) is tracked once.
         */
        void track(Object resource, Kind kind, long bytes, String detail, String kindName, ThreadSlot slot) {
            // Sampling comes first and skips the costly part, the stack; a site that leaks again
            // and again is still seen (1 - (1 - 1/sample)^leaks). At random, not every Nth: code
            // that creates objects in a fixed order would otherwise be sampled at the same sites.
            if (sample > 1 && ThreadLocalRandom.current().nextInt(sample) != 0) return;
            if (table.contains(resource)) return;
            if (table.isFull(resource, maxTracked)) {
                droppedObjects.increment();
                return;
            }
            StackTraceElement[] stack = new Throwable().getStackTrace();
            Site site = detail == null ? sites.creationSite(stack, kind) : sites.creationSite(stack, kind, detail, kindName);
            if (site.pooled) return;
            register(slot);
            long id = ((long) slot.id << 32) | (slot.nextObject++ & 0xffffffffL);
            long now = System.currentTimeMillis();
            TrackedRef ref = new TrackedRef(resource, queue, id, site, now, bytes);
            journal.add(slot.id, Journal.CREATED, id, site.id, now, bytes);
            // Counted before it can be released, so that held never reads negative.
            site.opened.increment();
            site.bytesOpened.add(bytes);
            table.add(ref);
        }

        void close(Object resource, ThreadSlot slot) {
            TrackedRef ref = table.remove(resource);
            if (ref == null) return;
            ref.clear();
            register(slot);
            long now = System.currentTimeMillis();
            if (slot.cleaner) {
                // The JVM freed it after a GC (a direct buffer nobody cleaned): no stack is taken on its thread.
                ref.site.released.increment();
                ref.site.releasedByGc.increment();
                ref.site.bytesReleased.add(ref.bytes);
                journal.add(slot.id, Journal.FREED, ref.id, 0, now, ref.bytes);
                return;
            }
            Site site = ref.site.takesReleaseStack() ? sites.releaseSite(new Throwable().getStackTrace(), ref.site.resource) : null;
            ref.site.released.increment();
            ref.site.bytesReleased.add(ref.bytes);
            journal.add(slot.id, Journal.RELEASED, ref.id, site == null ? 0 : site.id, now, ref.bytes);
        }

        void reap() {
            ignoreCurrentThread();
            ThreadSlot slot = SLOTS.get();
            while (session == this) {
                try {
                    TrackedRef ref = (TrackedRef) queue.remove(500);
                    if (ref != null && table.remove(ref)) {
                        ref.site.leaked.increment();
                        ref.site.bytesLeaked.add(ref.bytes);
                        journal.add(slot.id, Journal.LEAKED, ref.id, ref.site.id, System.currentTimeMillis(), ref.bytes);
                    }
                } catch (Throwable t) {
                    error(t);
                }
            }
        }

        private void register(ThreadSlot slot) {
            if (slot.registeredIn == this) return;
            slot.registeredIn = this;
            synchronized (newThreads) {
                newThreads.add(new String[] {Integer.toString(slot.id), slot.name});
            }
        }

        void error(Throwable t) {
            errors.increment();
            synchronized (errorMessages) {
                if (errorMessages.size() >= MAX_ERROR_MESSAGES) errorMessages.removeFirst();
                errorMessages.addLast(new String[] {Long.toString(System.currentTimeMillis()), String.valueOf(t)});
            }
        }

        synchronized Drain drain() {
            // Sites and threads are taken after the events, so every event's site and thread is known.
            long[] events = journal.take();
            List<Site> newSites = sites.undrained();
            List<String[]> threads;
            synchronized (newThreads) {
                threads = new ArrayList<>(newThreads);
                newThreads.clear();
            }
            List<String[]> messages;
            synchronized (errorMessages) {
                messages = new ArrayList<>(errorMessages);
                errorMessages.clear();
            }
            List<Site> creation = sites.creationSites();
            int maxId = 0;
            for (Site s : creation) maxId = Math.max(maxId, s.id);
            return new Drain(newSites, threads, events, creation, table.oldestHeldBySite(maxId), journal.dropped(),
                    sites.dropped(), droppedObjects.sum(), errors.sum(), table.size(), messages);
        }
    }
}
