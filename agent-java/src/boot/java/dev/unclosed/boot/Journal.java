package dev.unclosed.boot;

/**
 * Events waiting for the next drain, in per-thread stripes so that threads do not contend.
 * Bounded: past its share of {@code maxEvents} a stripe drops events and counts them; the
 * per-site totals stay exact regardless.
 */
final class Journal {
    static final int CREATED = 1;
    static final int RELEASED = 2;
    static final int LEAKED = 3;
    /** Longs per event: type, object id, site id, thread id, time, bytes. */
    static final int WIDTH = 6;

    private static final int STRIPES = 16;

    private final Stripe[] stripes = new Stripe[STRIPES];
    private final int perStripe;

    Journal(int maxEvents) {
        perStripe = Math.max(1, maxEvents / STRIPES);
        for (int i = 0; i < STRIPES; i++) stripes[i] = new Stripe();
    }

    void add(int thread, int type, long objectId, int siteId, long timeMs, long bytes) {
        Stripe s = stripes[thread & (STRIPES - 1)];
        synchronized (s) {
            if (s.count >= perStripe) {
                s.dropped++;
                return;
            }
            if ((s.count + 1) * WIDTH > s.events.length) {
                long[] bigger = new long[Math.min(perStripe, Math.max(64, s.count * 2)) * WIDTH];
                System.arraycopy(s.events, 0, bigger, 0, s.count * WIDTH);
                s.events = bigger;
            }
            int at = s.count * WIDTH;
            s.events[at] = type;
            s.events[at + 1] = objectId;
            s.events[at + 2] = siteId;
            s.events[at + 3] = thread;
            s.events[at + 4] = timeMs;
            s.events[at + 5] = bytes;
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
        int n = 0;
        for (Stripe s : stripes) n += s.count;
        return n;
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
