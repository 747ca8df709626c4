package dev.unclosed.boot;

import java.lang.ref.ReferenceQueue;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
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
    private static final ThreadLocal<ThreadSlot> SLOTS = new ThreadLocal<ThreadSlot>() {
        @Override
        protected ThreadSlot initialValue() {
            return new ThreadSlot(THREAD_IDS.incrementAndGet(), Thread.currentThread().getName());
        }
    };

    private static volatile Session session;

    private Recorder() {}

    /** Called by advice when a resource of this kind has been constructed. */
    public static void track(Object resource, int kind) {
        Session s = session;
        if (s == null || resource == null) return;
        ThreadSlot slot = SLOTS.get();
        if (slot.busy) return;
        slot.busy = true;
        try {
            s.track(resource, Kinds.ALL[kind], slot);
        } catch (Throwable t) {
            s.error(t);
        } finally {
            slot.busy = false;
        }
    }

    /** Called by advice when a resource has been released by its owner ({@code end()}). */
    public static void close(Object resource) {
        Session s = session;
        if (s == null || resource == null) return;
        ThreadSlot slot = SLOTS.get();
        if (slot.busy) return;
        slot.busy = true;
        try {
            s.close(resource, slot);
        } catch (Throwable t) {
            s.error(t);
        } finally {
            slot.busy = false;
        }
    }

    /** The agent's own threads never record: what they create is the agent's, not the app's. */
    public static void ignoreCurrentThread() {
        SLOTS.get().busy = true;
    }

    /** Starts tracking; false if already tracking. */
    public static synchronized boolean start(int depth, int maxEvents, int maxSites, int maxTracked) {
        if (session != null) return false;
        Session s = new Session(depth, maxEvents, maxSites, maxTracked);
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

    /** Everything new since the previous drain; null when not tracking. */
    public static Drain drain() {
        Session s = session;
        return s == null ? null : s.drain();
    }

    /** Counters for a status line: {held, pending events, dropped events, errors, bytes held}. */
    public static long[] status() {
        Session s = session;
        if (s == null) return new long[5];
        long bytesHeld = 0;
        for (Site site : s.sites.creationSites()) bytesHeld += site.totals()[4];
        return new long[] {s.table.size(), s.journal.pending(), s.journal.dropped(), s.errors.sum(), bytesHeld};
    }

    /** Records an error of the agent's own; the caller carries on. */
    public static void error(Throwable t) {
        Session s = session;
        if (s != null) s.error(t);
    }

    private static final class ThreadSlot {
        final int id;
        final String name;
        boolean busy;
        int nextObject;
        Session registeredIn;

        ThreadSlot(int id, String name) {
            this.id = id;
            this.name = name;
        }
    }

    /** The state of one tracking session, from start (or attach) to stop (or detach). */
    private static final class Session {
        final long sinceMs = System.currentTimeMillis();
        final SiteTable sites;
        final TrackedTable table = new TrackedTable();
        final Journal journal;
        final ReferenceQueue<Object> queue = new ReferenceQueue<>();
        final int maxTracked;
        final LongAdder droppedObjects = new LongAdder();
        final LongAdder errors = new LongAdder();
        private final ArrayDeque<String[]> errorMessages = new ArrayDeque<>();
        private final List<String[]> newThreads = new ArrayList<>();

        Session(int depth, int maxEvents, int maxSites, int maxTracked) {
            sites = new SiteTable(depth, maxSites);
            journal = new Journal(maxEvents);
            this.maxTracked = maxTracked;
        }

        void track(Object resource, Kind kind, ThreadSlot slot) {
            if (table.size() >= maxTracked) {
                droppedObjects.increment();
                return;
            }
            Site site = sites.creationSite(new Throwable().getStackTrace(), kind);
            if (site.pooled) return;
            register(slot);
            long id = ((long) slot.id << 32) | (slot.nextObject++ & 0xffffffffL);
            long now = System.currentTimeMillis();
            TrackedRef ref = new TrackedRef(resource, queue, id, site, now, kind.bytes);
            journal.add(slot.id, Journal.CREATED, id, site.id, now, kind.bytes);
            // Counted before it can be released, so that held never reads negative.
            site.opened.increment();
            site.bytesOpened.add(kind.bytes);
            table.add(ref);
        }

        void close(Object resource, ThreadSlot slot) {
            TrackedRef ref = table.remove(resource);
            if (ref == null) return;
            ref.clear();
            Site site = sites.releaseSite(new Throwable().getStackTrace(), ref.site.resource);
            register(slot);
            ref.site.released.increment();
            ref.site.bytesReleased.add(ref.bytes);
            journal.add(slot.id, Journal.RELEASED, ref.id, site.id, System.currentTimeMillis(), ref.bytes);
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
