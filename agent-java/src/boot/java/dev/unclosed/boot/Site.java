package dev.unclosed.boot;

import java.util.concurrent.atomic.LongAdder;

/**
 * One distinct stack: where tracked objects are created (with their totals) or released; or,
 * for objects found alive when tracking began, their kind without a stack.
 */
public final class Site {
    /** A creation stack. */
    public static final char CREATION = 'c';
    /** A release stack. */
    public static final char RELEASE = 'r';
    /** Objects that existed before tracking began (found at attach): no stack. */
    public static final char PREEXISTING = 'p';

    final int id;
    final char role;
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

    Site(int id, char role, Kind resource, String kind, String family, String culprit, String[] frames, String detail,
            boolean pooled) {
        this.id = id;
        this.role = role;
        this.resource = resource;
        this.kind = kind;
        this.family = family;
        this.culprit = culprit;
        this.frames = frames;
        this.detail = detail;
        this.pooled = pooled;
    }

    public int id() { return id; }
    public char role() { return role; }
    public String kind() { return kind; }
    public String family() { return family; }
    public String culprit() { return culprit; }
    public String[] frames() { return frames.clone(); }
    public String detail() { return detail; }

    /** Whether objects are counted here: a creation site or objects found at attach, not a pool's. */
    boolean counts() {
        return role != RELEASE && !pooled;
    }

    /**
     * Its totals now. Released and leaked are read before opened, and opened is counted before
     * an object can be released, so held is never negative.
     */
    public SiteTotals totals() {
        long byGc = releasedByGc.sum();
        long rel = released.sum();
        long leak = leaked.sum();
        long bRel = bytesReleased.sum();
        long bLeak = bytesLeaked.sum();
        long open = opened.sum();
        long bOpen = bytesOpened.sum();
        return new SiteTotals(this, open, rel, leak, bOpen - bRel - bLeak, bLeak, byGc);
    }
}
