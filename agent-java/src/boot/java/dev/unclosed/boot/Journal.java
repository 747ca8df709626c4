package dev.unclosed.boot;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * The ends of objects that a drain has already reported as held, and the leaks, waiting for
 * the next drain; objects created and released between two drains only count in their site's
 * totals and never come here. In per-thread stripes so that threads do not contend. Bounded:
 * past {@code maxEvents} pending in all (one busy thread may use them all), events are dropped
 * and counted; the per-site totals stay exact regardless.
 */
final class Journal {
    static final int RELEASED = 2;
    /** Reclaimed unreleased, after a drain reported it held. */
    static final int LEAKED = 3;
    /** Released by the JVM after the GC found it unreachable (a direct buffer's memory): no stack. */
    static final int FREED = 4;
    /** Reclaimed unreleased before any drain reported it: its creation is written with it. */
    static final int LEAKED_UNREPORTED = 5;
    /**
     * Longs per event: type, object id, site id (the release stack of an R, the creation site of
     * an L), thread id (the releasing thread), time, bytes, created ms, test.
     */
    static final int WIDTH = 8;

    private static final int STRIPES = 16;

    private final Stripe[] stripes = new Stripe[STRIPES];
    private final int maxEvents;
    /** Events pending in all stripes: the one counter threads share, a lock-free add. */
    private final AtomicInteger pending = new AtomicInteger();

    Journal(int maxEvents) {
        this.maxEvents = maxEvents;
        for (int i = 0; i < STRIPES; i++) stripes[i] = new Stripe();
    }

    void add(int thread, int type, TrackedRef ref, int siteId, long timeMs) {
        Stripe s = stripes[thread & (STRIPES - 1)];
        synchronized (s) {
            if (pending.incrementAndGet() > maxEvents) {
                pending.decrementAndGet();
                s.dropped++;
                return;
            }
            if ((s.count + 1) * WIDTH > s.events.length) {
                long[] bigger = new long[Math.min(maxEvents, Math.max(64, s.count * 2)) * WIDTH];
                System.arraycopy(s.events, 0, bigger, 0, s.count * WIDTH);
                s.events = bigger;
            }
            int at = s.count * WIDTH;
            s.events[at] = type;
            s.events[at + 1] = ref.id;
            s.events[at + 2] = siteId;
            s.events[at + 3] = thread;
            s.events[at + 4] = timeMs;
            s.events[at + 5] = ref.bytes;
            s.events[at + 6] = ref.createdMs;
            s.events[at + 7] = ref.test;
            s.count++;
        }
    }

    /** Takes every pending event, {@link #WIDTH} longs each. */
    long[] take() {
        long[][] parts = new long[STRIPES][];
        int[] counts = new int[STRIPES];
        int total = 0;
        for (int i = 0; i < STRIPES; i++) {
            Stripe s = stripes[i];
            synchronized (s) {
                parts[i] = s.events;
                counts[i] = s.count * WIDTH;
                pending.addAndGet(-s.count);
                s.events = new long[0];
                s.count = 0;
            }
            total += counts[i];
        }
        long[] all = new long[total];
        int at = 0;
        for (int i = 0; i < STRIPES; i++) {
            System.arraycopy(parts[i], 0, all, at, counts[i]);
            at += counts[i];
        }
        return all;
    }

    int pending() {
        return pending.get();
    }

    long dropped() {
        long n = 0;
        for (Stripe s : stripes) {
            synchronized (s) {
                n += s.dropped;
            }
        }
        return n;
    }

    private static final class Stripe {
        long[] events = new long[0];
        int count;
        long dropped;
    }
}
