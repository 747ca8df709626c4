package dev.unclosed.boot;

/** A counting site's totals since tracking began, read at one moment. */
public final class SiteTotals {
    public final Site site;
    public final long opened;
    public final long released;
    public final long leaked;
    /** Opened, and neither released nor leaked. */
    public final long held;
    public final long bytesHeld;
    public final long bytesLeaked;
    /** Of {@link #released}: freed by the JVM once the GC found them unreachable. */
    public final long releasedByGc;

    SiteTotals(Site site, long opened, long released, long leaked, long bytesHeld, long bytesLeaked, long releasedByGc) {
        this.site = site;
        this.opened = opened;
        this.released = released;
        this.leaked = leaked;
        this.held = opened - released - leaked;
        this.bytesHeld = bytesHeld;
        this.bytesLeaked = bytesLeaked;
        this.releasedByGc = releasedByGc;
    }
}
