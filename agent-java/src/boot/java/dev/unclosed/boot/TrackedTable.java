package dev.unclosed.boot;

/**
 * The objects being tracked, found by identity. Striped, so that threads creating and
 * releasing objects rarely share a lock, and chained through {@link TrackedRef#next} so an
 * entry costs no more than the reference itself.
 */
final class TrackedTable {
    private static final int STRIPES = 64;

    private final Stripe[] stripes = new Stripe[STRIPES];

    TrackedTable() {
        for (int i = 0; i < STRIPES; i++) stripes[i] = new Stripe();
    }

    private Stripe stripe(int hash) {
        return stripes[(hash ^ (hash >>> 16)) & (STRIPES - 1)];
    }

    void add(TrackedRef ref) {
        Stripe s = stripe(ref.hash);
        synchronized (s) {
            s.add(ref);
        }
    }

    /** Removes and returns the entry for this object, or null if it is not tracked. */
    TrackedRef remove(Object referent) {
        int hash = System.identityHashCode(referent);
        Stripe s = stripe(hash);
        synchronized (s) {
            return s.remove(hash, referent, null);
        }
    }

    /** Whether this object is tracked. */
    boolean contains(Object referent) {
        int hash = System.identityHashCode(referent);
        Stripe s = stripe(hash);
        synchronized (s) {
            return s.find(hash, referent) != null;
        }
    }

    /** Removes this entry; false if it was already removed (released). */
    boolean remove(TrackedRef ref) {
        Stripe s = stripe(ref.hash);
        synchronized (s) {
            return s.remove(ref.hash, null, ref) != null;
        }
    }

    /**
     * Whether the stripe this object would go to holds its share of {@code maxTracked} already:
     * a cap per stripe, read without the lock, so that the check costs no walk over all stripes.
     */
    boolean isFull(Object referent, int maxTracked) {
        return stripe(System.identityHashCode(referent)).size >= Math.max(1, maxTracked / STRIPES);
    }

    int size() {
        int n = 0;
        for (Stripe s : stripes) n += s.size;
        return n;
    }

    /** Oldest creation time of the objects still held, by site id (0 where none). */
    long[] oldestHeldBySite(int siteCount) {
        long[] oldest = new long[siteCount + 1];
        for (Stripe s : stripes) {
            synchronized (s) {
                for (TrackedRef head : s.buckets) {
                    for (TrackedRef r = head; r != null; r = r.next) {
                        int id = r.site.id;
                        if (id < oldest.length && (oldest[id] == 0 || r.createdMs < oldest[id])) oldest[id] = r.createdMs;
                    }
                }
            }
        }
        return oldest;
    }

    void clear() {
        for (Stripe s : stripes) {
            synchronized (s) {
                s.buckets = new TrackedRef[16];
                s.size = 0;
            }
        }
    }

    private static final class Stripe {
        TrackedRef[] buckets = new TrackedRef[16];
        int size;

        void add(TrackedRef ref) {
            if (size >= buckets.length) grow();
            int i = (ref.hash >>> 6) & (buckets.length - 1);
            ref.next = buckets[i];
            buckets[i] = ref;
            size++;
        }

        TrackedRef find(int hash, Object referent) {
            for (TrackedRef r = buckets[(hash >>> 6) & (buckets.length - 1)]; r != null; r = r.next) {
                if (r.hash == hash && r.get() == referent) return r;
            }
            return null;
        }

        TrackedRef remove(int hash, Object referent, TrackedRef target) {
            int i = (hash >>> 6) & (buckets.length - 1);
            TrackedRef prev = null;
            for (TrackedRef r = buckets[i]; r != null; prev = r, r = r.next) {
                if (r == target || (referent != null && r.hash == hash && r.get() == referent)) {
                    if (prev == null) buckets[i] = r.next;
                    else prev.next = r.next;
                    r.next = null;
                    size--;
                    return r;
                }
            }
            return null;
        }

        private void grow() {
            TrackedRef[] old = buckets;
            buckets = new TrackedRef[old.length * 2];
            for (TrackedRef head : old) {
                for (TrackedRef r = head; r != null; ) {
                    TrackedRef next = r.next;
                    int i = (r.hash >>> 6) & (buckets.length - 1);
                    r.next = buckets[i];
                    buckets[i] = r;
                    r = next;
                }
            }
        }
    }
}
