package dev.unclosed.boot;

/**
 * What a drain says of one counting site (its {@code C} record): its totals, and what a scan of
 * the objects it still holds found, the scan made after the totals were read.
 */
public final class SiteCounts {
    public final SiteTotals totals;
    /** Creation time of the oldest object still held, or 0. */
    public final long oldestHeldMs;
    /** Of the held: created within the reader's interval before the drain, most likely still in use. */
    public final long inFlight;
    public final long bytesInFlight;

    SiteCounts(SiteTotals totals, long oldestHeldMs, long heldOld, long bytesHeldOld) {
        this.totals = totals;
        this.oldestHeldMs = oldestHeldMs;
        // What the scan found old is part of what the totals, read before it, call held (less
        // any released in between): the rest was created within the interval.
        this.inFlight = Math.max(0, totals.held - heldOld);
        this.bytesInFlight = Math.max(0, totals.bytesHeld - bytesHeldOld);
    }
}
