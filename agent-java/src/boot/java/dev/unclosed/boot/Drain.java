package dev.unclosed.boot;

import java.util.List;

/**
 * What the recorder hands a reader at a drain: what the reader did not know yet (sites,
 * threads and tests after the ones it has), the objects newly found held, the ends of objects
 * reported before and the leaks, and every counting site's totals.
 */
public final class Drain {
    /** Longs per row of {@link #held}: object id, site id, thread id, created ms, bytes, test. */
    public static final int HELD_WIDTH = 6;
    /** Longs per row of {@link #events}: type, object id, site id, thread id, time ms, bytes, created ms, test. */
    public static final int EVENT_WIDTH = Journal.WIDTH;
    public static final int RELEASED = Journal.RELEASED;
    public static final int LEAKED = Journal.LEAKED;
    public static final int LEAKED_UNREPORTED = Journal.LEAKED_UNREPORTED;
    public static final int FREED = Journal.FREED;

    /** 1, 2, ... within a session: a reader keeps each drain once. */
    public final long seq;
    public final long timeMs;
    public final List<Site> newSites;
    public final List<ThreadName> newThreads;
    /** Names of the tests after the ones the reader knew; ids follow on from {@link #testsBefore}. */
    public final List<String> newTests;
    public final int testsBefore;
    /** What the reader knows after this drain. */
    public final int sitesKnown;
    public final int threadsKnown;
    public final int testsKnown;
    public final long[] held;
    public final long[] events;
    public final List<SiteCounts> counts;
    public final Counters counters;
    public final List<ErrorNote> errors;

    Drain(long seq, long timeMs, List<Site> newSites, List<ThreadName> newThreads, List<String> newTests, int testsBefore,
            int sitesKnown, int threadsKnown, int testsKnown, long[] held, long[] events, List<SiteCounts> counts,
            Counters counters, List<ErrorNote> errors) {
        this.seq = seq;
        this.timeMs = timeMs;
        this.newSites = newSites;
        this.newThreads = newThreads;
        this.newTests = newTests;
        this.testsBefore = testsBefore;
        this.sitesKnown = sitesKnown;
        this.threadsKnown = threadsKnown;
        this.testsKnown = testsKnown;
        this.held = held;
        this.events = events;
        this.counts = counts;
        this.counters = counters;
        this.errors = errors;
    }

    /** A thread that created or released a tracked object. */
    public static final class ThreadName {
        public final int id;
        public final String name;

        ThreadName(int id, String name) {
            this.id = id;
            this.name = name;
        }
    }

    /** An error the agent caught and carried on after. */
    public static final class ErrorNote {
        public final long timeMs;
        public final String message;

        ErrorNote(long timeMs, String message) {
            this.timeMs = timeMs;
            this.message = message;
        }
    }

    /** The agent's own counters, absolute since tracking began. */
    public static final class Counters {
        /** Events past max_events: some object records are missing (site totals stay exact). */
        public final long droppedEvents;
        /** Stacks past max_sites, folded into an overflow site per kind. */
        public final long droppedSites;
        /** Objects past max_tracked: not tracked at all. */
        public final long droppedObjects;
        /** Held objects not listed in this drain (past max_events); a later drain lists them. */
        public final long heldNotListed;
        public final long errors;
        /** Classes the agent failed to instrument: objects of their kinds may be unseen. */
        public final long instrumentationErrors;
        public final long held;

        Counters(long droppedEvents, long droppedSites, long droppedObjects, long heldNotListed, long errors,
                long instrumentationErrors, long held) {
            this.droppedEvents = droppedEvents;
            this.droppedSites = droppedSites;
            this.droppedObjects = droppedObjects;
            this.heldNotListed = heldNotListed;
            this.errors = errors;
            this.instrumentationErrors = instrumentationErrors;
            this.held = held;
        }
    }
}
