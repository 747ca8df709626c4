package dev.unclosed.boot;

import java.util.concurrent.atomic.LongAdder;

/** One distinct stack: where tracked objects are created (with their totals) or released. */
public final class Site {
    final int id;
    final boolean creation;
    /** The tracked class whose stacks these are, before attribution to an owner. */
    final Kind resource;
    final String kind;
    final String family;
    final String culprit;
    final String[] frames;
    /** What else tells these objects apart (a stream's stages), or null. */
    final String detail;
    /** Created by a pool (ZipFile): not tracked. */
    final boolean pooled;

    final LongAdder opened = new LongAdder();
    final LongAdder released = new LongAdder();
    /** Of {@link #released}: freed by the JVM once the GC found them unreachable (direct buffers). */
    final LongAdder releasedByGc = new LongAdder();
    final LongAdder leaked = new LongAdder();
    final LongAdder bytesOpened = new LongAdder();
    final LongAdder bytesReleased = new LongAdder();
    final LongAdder bytesLeaked = new LongAdder();

    Site(int id, boolean creation, Kind resource, String kind, String family, String culprit, String[] frames, String detail,
            boolean pooled) {
        this.id = id;
        this.creation = creation;
        this.resource = resource;
        this.kind = kind;
        this.family = family;
        this.culprit = culprit;
        this.frames = frames;
        this.detail = detail;
        this.pooled = pooled;
    }

    /** Releases seen so far, for {@link #takesReleaseStack}; racy, as a sample may be. */
    private long releases;

    /**
     * Whether to take the stack of this release: for the first 16 of a creation site, then 1 in
     * 64. Where objects are released matters less than where they are not, and a stack is most
     * of what tracking costs.
     */
    boolean takesReleaseStack() {
        long n = releases++;
        return n < 16 || n % 64 == 0;
    }

    public int id() { return id; }
    public boolean isCreation() { return creation; }
    public String kind() { return kind; }
    public String family() { return family; }
    public String culprit() { return culprit; }
    public String[] frames() { return frames.clone(); }
    public String detail() { return detail; }

    /**
     * Totals as {opened, released, leaked, held, bytesHeld, bytesLeaked, releasedByGc}. Released
     * and leaked are read before opened, and opened is counted before an object can be released,
     * so held is never negative.
     */
    public long[] totals() {
        long byGc = releasedByGc.sum();
        long rel = released.sum();
        long leak = leaked.sum();
        long bRel = bytesReleased.sum();
        long bLeak = bytesLeaked.sum();
        long open = opened.sum();
        long bOpen = bytesOpened.sum();
        return new long[] {open, rel, leak, open - rel - leak, bOpen - bRel - bLeak, bLeak, byGc};
    }
}
