package dev.unclosed.boot;

import java.lang.ref.ReferenceQueue;
import java.lang.ref.WeakReference;

/**
 * One tracked object, held weakly: it never keeps the object alive. If it reaches the queue
 * while still in the {@link TrackedTable}, the object was reclaimed without being released.
 * About 64 bytes with compressed oops.
 */
final class TrackedRef extends WeakReference<Object> {
    final long id;
    final Site site;
    final long createdMs;
    final long bytes;
    final int hash;
    TrackedRef next;

    TrackedRef(Object referent, ReferenceQueue<Object> queue, long id, Site site, long createdMs, long bytes) {
        super(referent, queue);
        this.id = id;
        this.site = site;
        this.createdMs = createdMs;
        this.bytes = bytes;
        this.hash = System.identityHashCode(referent);
    }
}
