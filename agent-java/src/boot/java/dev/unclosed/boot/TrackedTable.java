package dev.unclosed.boot;

/**
 * The objects being tracked, found by identity of their key. Striped, so that threads creating
 * and releasing objects rarely share a lock, and chained through {@link TrackedRef#next} so an
 * entry costs no more than the reference itself.
 */
final class TrackedTable {
    private static final int STRIPES = 64;

    private final Stripe[] stripes = new Stripe[STRIPES];
    private final int maxPerStripe;

    /** Holds at most about {@code maxTracked} (a cap per stripe, so that the check costs no walk over all stripes). */
    TrackedTable(int maxTracked) {
        maxPerStripe = Math.max(1, maxTracked / STRIPES);
        for (int i = 0; i < STRIPES; i++) stripes[i] = new Stripe();
    }

    private Stripe stripe(int hash) {
        return stripes[(hash ^ (hash >>> 16)) & (STRIPES - 1)];
    }

    /** What {@link #add} says of an entry it did not add. */
    static final int ADDED = 0;
    static final int PRESENT = 1;
    static final int FULL = 2;

    /** Adds the entry unless its key is tracked already or its stripe is full; one lock. */
    int add(TrackedRef ref, Object key) {
        Stripe s = stripe(ref.hash);
        synchronized (s) {
            if (s.find(ref.hash, key) != null) return PRESENT;
            if (s.size >= maxPerStripe) return FULL;
            s.add(ref);
            return ADDED;
        }
    }

    /** Whether the key is tracked (read before taking a stack for an object that may be). */
    boolean contains(Object key) {
        int hash = System.identityHashCode(key);
        Stripe s = stripe(hash);
        synchronized (s) {
            return s.find(hash, key) != null;
        }
    }

    /** Removes and returns the entry found by this key, or null if it is not tracked. */
    TrackedRef remove(Object key) {
        int hash = System.identityHashCode(key);
        Stripe s = stripe(hash);
        synchronized (s) {
            return s.remove(hash, key, null);
        }
    }

    /** Removes this entry; false if it was already removed (released). */
    boolean remove(TrackedRef ref) {
        Stripe s = stripe(ref.hash);
        synchronized (s) {
            return s.remove(ref.hash, null, ref) != null;
        }
    }

    int size() {
        int n = 0;
        for (Stripe s : stripes) n += s.size;
        return n;
    }

    /** Visits every entry, a stripe at a time under its lock (the visitor must be quick). */
    void forEach(Visitor visitor) {
        for (Stripe s : stripes) {
            synchronized (s) {
                for (TrackedRef head : s.buckets) {
                    for (TrackedRef r = head; r != null; r = r.next) visitor.visit(r);
                }
            }
        }
    }

    interface Visitor {
        void visit(TrackedRef ref);
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

        TrackedRef find(int hash, Object key) {
            for (TrackedRef r = buckets[(hash >>> 6) & (buckets.length - 1)]; r != null; r = r.next) {
                if (r.hash == hash && r.isFoundBy(key)) return r;
            }
            return null;
        }

        TrackedRef remove(int hash, Object key, TrackedRef target) {
            int i = (hash >>> 6) & (buckets.length - 1);
            TrackedRef prev = null;
            for (TrackedRef r = buckets[i]; r != null; prev = r, r = r.next) {
                if (r == target || (key != null && r.hash == hash && r.isFoundBy(key))) {
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
