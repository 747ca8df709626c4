package dev.unclosed.boot;

import java.lang.ref.ReferenceQueue;
import java.lang.ref.WeakReference;

/**
 * One tracked object, held weakly: it never keeps the object alive. If it reaches the queue
 * while still in the {@link TrackedTable}, the object was reclaimed without being released.
 *
 * <p>It is found by its key: the object itself, or (zlib) the native state the object holds,
 * which a copy of the object (a Mockito spy) shares and which {@code end()} on either frees.
 * About 80 bytes with compressed oops.
 */
final class TrackedRef extends WeakReference<Object> {
    /** The creating thread's id in the high 32 bits, that thread's count in the low ones. */
    final long id;
    final Site site;
    final long createdMs;
    final long bytes;
    /** The test running when it was created, or 0. */
    final int test;
    /** What finds it when not the referent itself; never the referent (that would keep it alive). */
    private final Object key;
    final int hash;
    TrackedRef next;
    /** Written to a drain as held: its end is written too. Guarded by its stripe of the table. */
    boolean reported;

    TrackedRef(Object referent, Object key, ReferenceQueue<Object> queue, long id, Site site, long createdMs, long bytes,
            int test) {
        super(referent, queue);
        this.key = key == referent ? null : key;
        this.id = id;
        this.site = site;
        this.createdMs = createdMs;
        this.bytes = bytes;
        this.test = test;
        this.hash = System.identityHashCode(key);
    }

    boolean isFoundBy(Object k) {
        return key != null ? key == k : get() == k;
    }

    int thread() {
        return (int) (id >>> 32);
    }
}
