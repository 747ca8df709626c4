package dev.unclosed.boot;

import java.lang.ref.ReferenceQueue;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.BooleanSupplier;

/** The state of one tracking session, from start (or attach) to stop (or detach). */
final class Session {
    private static final int MAX_ERROR_NOTES = 100;
    private static final int MAX_THREADS = 1 << 16;

    /** When tracking began: set once the instrumentation is active, 0 until then. */
    volatile long trackingSinceMs;
    final int depth;
    final int sample;
    final SiteTable sites;
    final TrackedTable table;
    final Journal journal;
    final ReferenceQueue<Object> queue = new ReferenceQueue<>();
    final Tests tests = new Tests();
    /** Held objects one drain lists at most, as events are bounded. */
    private final int maxListed;
    final LongAdder droppedObjects = new LongAdder();
    final LongAdder errors = new LongAdder();
    final LongAdder instrumentationErrors = new LongAdder();
    private final ArrayDeque<Drain.ErrorNote> errorNotes = new ArrayDeque<>();
    private final List<Drain.ThreadName> threads = new ArrayList<>();
    private long droppedThreads;
    private long drains;
    private volatile boolean stopped;

    Session(int depth, int maxEvents, int maxSites, int maxTracked, int sample) {
        this.depth = depth;
        this.sample = sample;
        this.maxListed = maxEvents;
        sites = new SiteTable(maxSites);
        table = new TrackedTable(maxTracked);
        journal = new Journal(maxEvents);
    }

    /**
     * Tracks {@code resource}, found by {@code key} (itself, or the native state it holds).
     * {@code detail} and {@code kindName}: see {@link SiteTable#site}; both null for most kinds.
     * An object already tracked (a constructor calling another, a copy sharing the state) is tracked once.
     */
    void track(Object resource, Object key, Kind kind, long bytes, String detail, String kindName, ThreadSlot slot) {
        // Sampling comes first and skips the costly part, the stack; a site that leaks again
        // and again is still seen (1 - (1 - 1/sample)^leaks). At random, not every Nth: code
        // that creates objects in a fixed order would otherwise be sampled at the same sites.
        if (sample > 1 && ThreadLocalRandom.current().nextInt(sample) != 0) return;
        if (table.contains(key)) return;
        Site site = sites.site(slot.capture(depth).capture(kind, Site.CREATION, detail), kind, kindName);
        if (site.pooled) return;
        register(slot);
        long id = ((long) slot.id << 32) | (slot.nextObject++ & 0xffffffffL);
        add(new TrackedRef(resource, key, queue, id, site, System.currentTimeMillis(), bytes, tests.current()), key);
    }

    /**
     * An object found alive when tracking began (no stack), tracked from now on under its kind's
     * own site; false if it is tracked already (created since) or the table is full. Its release
     * may have come between the finding and now, unseen: {@code ended} says whether it did, asked
     * once the object is in the table, so that a release before that is seen there and one after
     * finds it in the table.
     */
    boolean adopt(Object resource, Kind kind, long bytes, String kindName, String detail, BooleanSupplier ended) {
        if (table.contains(resource)) return false;
        TrackedRef ref = new TrackedRef(resource, resource, queue, 0, sites.preexisting(kind, kindName, detail), 0, bytes, 0);
        if (!add(ref, resource)) return false;
        if (ended.getAsBoolean() && table.remove(ref)) released(ref);
        return true;
    }

    /** Counts the object at its site, then adds it to the table; undone if it is there already or the table is full. */
    private boolean add(TrackedRef ref, Object key) {
        Site site = ref.site;
        // Counted before it can be released, so that held never reads negative.
        site.opened.increment();
        site.bytesOpened.add(ref.bytes);
        int added = table.add(ref, key);
        if (added == TrackedTable.ADDED) return true;
        site.opened.decrement();
        site.bytesOpened.add(-ref.bytes);
        if (added == TrackedTable.FULL) droppedObjects.increment();
        return false;
    }

    private static void released(TrackedRef ref) {
        ref.clear();
        ref.site.released.increment();
        ref.site.bytesReleased.add(ref.bytes);
    }

    void close(Object key, ThreadSlot slot) {
        TrackedRef ref = table.remove(key);
        if (ref == null) return;
        if (slot.finalizer) {
            ref.clear();
            leaked(ref);
            return;
        }
        released(ref);
        Site site = ref.site;
        if (slot.cleaner) site.releasedByGc.increment();
        if (!ref.reported) return; // its whole life fell between two drains: the totals say it all
        register(slot);
        long now = System.currentTimeMillis();
        if (slot.cleaner) {
            // The JVM freed it after a GC (a direct buffer nobody cleaned): no stack on its thread.
            journal.add(slot.id, Journal.FREED, ref, 0, now);
        } else {
            Site at = sites.site(slot.capture(depth).capture(site.resource, Site.RELEASE, null), site.resource, null);
            journal.add(slot.id, Journal.RELEASED, ref, at.id, now);
        }
    }

    void reap() {
        Recorder.ignoreCurrentThread();
        while (!stopped) {
            try {
                TrackedRef ref = (TrackedRef) queue.remove(500);
                if (ref != null && table.remove(ref)) leaked(ref);
            } catch (Throwable t) {
                error(t);
            }
        }
    }

    /** Reclaimed by the GC (or finalized) without being released. */
    private void leaked(TrackedRef ref) {
        ref.site.leaked.increment();
        ref.site.bytesLeaked.add(ref.bytes);
        if (ref.site.role == Site.PREEXISTING) return;
        journal.add(ref.thread(), ref.reported ? Journal.LEAKED : Journal.LEAKED_UNREPORTED, ref, ref.site.id,
                System.currentTimeMillis());
    }

    void stop() {
        stopped = true;
        table.clear();
    }

    private void register(ThreadSlot slot) {
        if (slot.registeredIn == this) return;
        slot.registeredIn = this;
        synchronized (threads) {
            if (threads.size() < MAX_THREADS) threads.add(new Drain.ThreadName(slot.id, slot.name));
            else droppedThreads++;
        }
    }

    void error(Throwable t) {
        errors.increment();
        note(t);
    }

    void instrumentationError(Throwable t) {
        instrumentationErrors.increment();
        note(t);
    }

    private void note(Throwable t) {
        synchronized (errorNotes) {
            if (errorNotes.size() >= MAX_ERROR_NOTES) errorNotes.removeFirst();
            errorNotes.addLast(new Drain.ErrorNote(System.currentTimeMillis(), String.valueOf(t)));
        }
    }

    /**
     * Everything a reader lacks: sites, threads and tests after the ones it knows, the held
     * objects no drain listed yet, the ends and leaks since the last drain, and every counting
     * site's totals, with what of its held objects was created within {@code inFlightMs}.
     */
    synchronized Drain drain(int sitesKnown, int threadsKnown, int testsKnown, long inFlightMs) {
        long now = System.currentTimeMillis();
        long[] events = journal.take();
        // Totals before the scan: what the scan finds old was held when they were read.
        List<Site> counting = sites.counting();
        List<SiteTotals> totals = new ArrayList<>(counting.size());
        for (Site s : counting) totals.add(s.totals());
        Scan scan = new Scan(sites.size(), now - inFlightMs, maxListed);
        table.forEach(scan);
        List<SiteCounts> counts = new ArrayList<>(totals.size());
        for (SiteTotals t : totals) {
            int id = t.site.id;
            counts.add(new SiteCounts(t, scan.oldest[id], scan.heldOld[id], scan.bytesHeldOld[id]));
        }
        List<Site> newSites = sites.after(sitesKnown);
        List<Drain.ThreadName> newThreads;
        int threadCount;
        synchronized (threads) {
            threadCount = threads.size();
            newThreads = threadsKnown >= threadCount ? new ArrayList<>()
                    : new ArrayList<>(threads.subList(Math.max(0, threadsKnown), threadCount));
        }
        List<String> newTests = tests.after(testsKnown);
        List<Drain.ErrorNote> notes;
        synchronized (errorNotes) {
            notes = new ArrayList<>(errorNotes);
            errorNotes.clear();
        }
        Drain.Counters counters = new Drain.Counters(journal.dropped(), sites.dropped(), droppedObjects.sum(), scan.notListed,
                errors.sum(), instrumentationErrors.sum(), table.size());
        return new Drain(++drains, now, newSites, newThreads, newTests, Math.max(0, Math.min(testsKnown, tests.size())),
                sitesKnown + newSites.size(), Math.max(threadsKnown, threadCount), testsKnown + newTests.size(),
                scan.listed(), events, counts, counters, notes);
    }

    /** One pass over the held objects at a drain: per site the oldest and what is old; the unlisted listed. */
    private static final class Scan implements TrackedTable.Visitor {
        final long[] oldest;
        final long[] heldOld;
        final long[] bytesHeldOld;
        private final long oldBefore;
        private final int maxListed;
        private long[] held = new long[64 * Drain.HELD_WIDTH];
        private int listed;
        long notListed;

        Scan(int siteCount, long oldBefore, int maxListed) {
            oldest = new long[siteCount + 1];
            heldOld = new long[siteCount + 1];
            bytesHeldOld = new long[siteCount + 1];
            this.oldBefore = oldBefore;
            this.maxListed = maxListed;
        }

        @Override
        public void visit(TrackedRef r) {
            Site site = r.site;
            int id = site.id;
            if (id >= oldest.length) return; // a site newer than the totals: all it holds is new
            if (r.createdMs <= oldBefore) {
                heldOld[id]++;
                bytesHeldOld[id] += r.bytes;
            }
            if (site.role == Site.PREEXISTING) return; // no creation time, no stack: counted only
            if (oldest[id] == 0 || r.createdMs < oldest[id]) oldest[id] = r.createdMs;
            if (r.reported) return;
            if (listed >= maxListed) {
                notListed++;
                return;
            }
            if ((listed + 1) * Drain.HELD_WIDTH > held.length) held = Arrays.copyOf(held, held.length * 2);
            int at = listed * Drain.HELD_WIDTH;
            held[at] = r.id;
            held[at + 1] = id;
            held[at + 2] = r.thread();
            held[at + 3] = r.createdMs;
            held[at + 4] = r.bytes;
            held[at + 5] = r.test;
            listed++;
            r.reported = true;
        }

        long[] listed() {
            return Arrays.copyOf(held, listed * Drain.HELD_WIDTH);
        }
    }
}
