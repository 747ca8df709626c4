package dev.unclosed.channel;

import dev.unclosed.boot.Drain;

/**
 * Whether a controller reads this session now, and what it knew at its last drain: at exit the
 * agent leaves its last data for that reader (the exit file), so that nothing between the last
 * drain and the exit is lost. A reader that stops draining for three of its intervals has gone.
 */
public final class Readers {
    private static final long LEASE_INTERVALS = 3;
    private static final long LEASE_SLACK_MS = 10_000;

    private long leaseUntilMs;
    private int sitesKnown;
    private int threadsKnown;
    private int testsKnown;

    /** A reader begins recording (it knows nothing yet): from now on the exit leaves it data. */
    synchronized void began(long intervalMs) {
        extendLease(intervalMs);
        sitesKnown = threadsKnown = testsKnown = 0;
    }

    private void extendLease(long intervalMs) {
        leaseUntilMs = System.currentTimeMillis() + LEASE_INTERVALS * intervalMs + LEASE_SLACK_MS;
    }

    synchronized void drained(Drain drain, long intervalMs) {
        extendLease(intervalMs);
        sitesKnown = drain.sitesKnown;
        threadsKnown = drain.threadsKnown;
        testsKnown = drain.testsKnown;
    }

    /** The reader ended its recording: no exit file is left for it. */
    synchronized void finished() {
        leaseUntilMs = 0;
    }

    public synchronized boolean reading() {
        return System.currentTimeMillis() <= leaseUntilMs;
    }

    public synchronized int sitesKnown() {
        return sitesKnown;
    }

    public synchronized int threadsKnown() {
        return threadsKnown;
    }

    public synchronized int testsKnown() {
        return testsKnown;
    }
}
