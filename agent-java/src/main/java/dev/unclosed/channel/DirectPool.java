package dev.unclosed.channel;

import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;

/**
 * The JVM's own figures for direct buffers (the "direct" {@code BufferPoolMXBean}), written beside
 * the tracked sites in each drain so that a reader can tell how much of the pool they explain.
 * The pool also counts buffers allocated before an attach and the agent's own.
 */
final class DirectPool {
    private DirectPool() {}

    static final class Figures {
        final long count;
        final long memoryUsed;
        final long totalCapacity;

        Figures(long count, long memoryUsed, long totalCapacity) {
            this.count = count;
            this.memoryUsed = memoryUsed;
            this.totalCapacity = totalCapacity;
        }
    }

    /** The pool's figures now, or null where the JVM has no such pool. */
    static Figures figures() {
        for (BufferPoolMXBean pool : ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class)) {
            if ("direct".equals(pool.getName())) return new Figures(pool.getCount(), pool.getMemoryUsed(), pool.getTotalCapacity());
        }
        return null;
    }
}
