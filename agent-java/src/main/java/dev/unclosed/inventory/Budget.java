package dev.unclosed.inventory;

/**
 * What the inventory may spend: entries visited (cleanables, actors, shells) and time. Once
 * either is spent it stays spent, the walks stop where they are, and the counts are partial.
 * Time is read every 1024 entries, as a walk may hold one of the JDK's locks.
 */
final class Budget {
    private final long maxEntries;
    private final long maxMillis;
    private final long deadlineNanos;
    private long entries;
    private boolean spent;

    Budget(long maxEntries, long maxMillis) {
        this.maxEntries = maxEntries;
        this.maxMillis = maxMillis;
        this.deadlineNanos = System.nanoTime() + maxMillis * 1_000_000;
    }

    /** One more entry; false once the budget is spent. */
    boolean take() {
        if (spent) return false;
        entries++;
        if (entries > maxEntries || ((entries & 1023) == 0 && System.nanoTime() - deadlineNanos > 0)) spent = true;
        return !spent;
    }

    boolean spent() {
        return spent;
    }

    /** Why the counts are partial, once spent. */
    String limit() {
        return "the inventory stops after " + maxEntries + " entries or " + maxMillis + " ms";
    }
}
