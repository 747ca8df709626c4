package dev.unclosed.boot;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Deduplicates stacks into sites. A site is described (kind, culprit, frames as text) once,
 * when first seen; later captures of the same stack only hash and compare frames.
 */
final class SiteTable {
    private static final String RECORDER_PACKAGE = "dev.unclosed.";
    private static final String[] JDK_PREFIXES = {"java.", "javax.", "jdk.", "sun.", "com.sun."};

    private final ConcurrentHashMap<StackKey, Site> byStack = new ConcurrentHashMap<>();
    private final List<Site> all = new ArrayList<>();
    private final int depth;
    private final int maxSites;
    private int drained;
    private long dropped;

    SiteTable(int depth, int maxSites) {
        this.depth = depth;
        this.maxSites = maxSites;
    }

    Site creationSite(StackTraceElement[] stack, Kind kind) {
        return site(stack, kind, true, null, null);
    }

    /**
     * A creation site told apart by {@code detail} too (a stream's stages), with the kind a user
     * sees already known ({@code kindName}).
     */
    Site creationSite(StackTraceElement[] stack, Kind kind, String detail, String kindName) {
        return site(stack, kind, true, detail, kindName);
    }

    Site releaseSite(StackTraceElement[] stack, Kind kind) {
        return site(stack, kind, false, null, null);
    }

    private Site site(StackTraceElement[] stack, Kind kind, boolean creation, String detail, String kindName) {
        int from = 0;
        while (from < stack.length && stack[from].getClassName().startsWith(RECORDER_PACKAGE)) from++;
        int to = Math.min(stack.length, from + depth);
        StackKey probe = new StackKey(kind.id, creation, stack, from, to, detail);
        Site site = byStack.get(probe);
        return site != null ? site : add(probe, kind, creation, kindName);
    }

    private synchronized Site add(StackKey probe, Kind kind, boolean creation, String kindName) {
        Site site = byStack.get(probe);
        if (site != null) return site;
        StackKey key = probe;
        if (all.size() >= maxSites) {
            // Past the cap every new stack of this kind and role shares one overflow site.
            dropped++;
            key = new StackKey(kind.id, creation, new StackTraceElement[0], 0, 0, null);
            site = byStack.get(key);
            if (site != null) return site;
            kindName = null;
        } else {
            key = probe.copy();
        }
        site = describe(all.size() + 1, key, kind, creation, kindName);
        all.add(site);
        byStack.put(key, site);
        return site;
    }

    private static Site describe(int id, StackKey key, Kind kind, boolean creation, String kindName) {
        StackTraceElement[] stack = key.frames;
        String[] frames = new String[stack.length];
        String culprit = "";
        for (int i = 0; i < stack.length; i++) {
            frames[i] = format(stack[i]);
            String className = stack[i].getClassName();
            if (culprit.isEmpty() && !isJdkOrAgent(className) && !kind.isLibrary(className)) culprit = frames[i];
        }
        if (stack.length == 0) frames = new String[] {"(more distinct stacks than max_sites)"};
        if (!creation) return new Site(id, false, kind, "", "", culprit, frames, null, false);
        if (kindName != null) return new Site(id, true, kind, kindName, kind.family, culprit, frames, key.detail, false);

        // Skip the resource's own constructor frames; the next frame created it.
        int i = 0;
        while (i < stack.length && "<init>".equals(stack[i].getMethodName()) && kind.name.equals(stack[i].getClassName())) i++;
        boolean pooled = i < stack.length && kind.isPool(stack[i].getClassName());
        // The owner is the outermost stream constructor among the zip package frames that
        // created it (JDK 25's GZIPInputStream creates its Inflater in a static helper).
        String attributed = kind.name;
        for (int j = i; j < stack.length && Kind.isZipPackage(stack[j].getClassName()); j++) {
            String owner = "<init>".equals(stack[j].getMethodName()) ? kind.ownerOf(stack[j].getClassName()) : null;
            if (owner != null) attributed = owner;
        }
        return new Site(id, true, kind, attributed, kind.family, culprit, frames, key.detail, pooled);
    }

    static boolean isJdkOrAgent(String className) {
        if (className.startsWith(RECORDER_PACKAGE)) return true;
        for (String prefix : JDK_PREFIXES) {
            if (className.startsWith(prefix)) return true;
        }
        return false;
    }

    /** {@code pkg.Class.method(File.java:LINE)}, without the module prefix JDK 9+ adds. */
    static String format(StackTraceElement e) {
        StringBuilder b = new StringBuilder(96).append(e.getClassName()).append('.').append(e.getMethodName()).append('(');
        if (e.isNativeMethod()) b.append("Native Method");
        else if (e.getFileName() == null) b.append("Unknown Source");
        else {
            b.append(e.getFileName());
            if (e.getLineNumber() >= 0) b.append(':').append(e.getLineNumber());
        }
        return b.append(')').toString();
    }

    synchronized List<Site> undrained() {
        List<Site> fresh = new ArrayList<>(all.subList(drained, all.size()));
        drained = all.size();
        return fresh;
    }

    synchronized List<Site> creationSites() {
        List<Site> sites = new ArrayList<>();
        for (Site s : all) {
            if (s.creation && !s.pooled) sites.add(s);
        }
        return sites;
    }

    synchronized long dropped() {
        return dropped;
    }

    /** A range of a captured stack, compared frame by frame. */
    static final class StackKey {
        final int kind;
        final boolean creation;
        final StackTraceElement[] frames;
        final int from;
        final int to;
        final String detail;
        final int hash;

        StackKey(int kind, boolean creation, StackTraceElement[] frames, int from, int to, String detail) {
            this.kind = kind;
            this.creation = creation;
            this.frames = frames;
            this.from = from;
            this.to = to;
            this.detail = detail;
            int h = (kind * 31 + (creation ? 1 : 0)) * 31 + (detail == null ? 0 : detail.hashCode());
            for (int i = from; i < to; i++) h = h * 31 + frames[i].hashCode();
            this.hash = h;
        }

        StackKey copy() {
            return new StackKey(kind, creation, Arrays.copyOfRange(frames, from, to), 0, to - from, detail);
        }

        @Override
        public int hashCode() {
            return hash;
        }

        @Override
        public boolean equals(Object o) {
            if (!(o instanceof StackKey)) return false;
            StackKey k = (StackKey) o;
            if (k.hash != hash || k.kind != kind || k.creation != creation || k.to - k.from != to - from) return false;
            if (detail == null ? k.detail != null : !detail.equals(k.detail)) return false;
            for (int i = 0; i < to - from; i++) {
                if (!frames[from + i].equals(k.frames[k.from + i])) return false;
            }
            return true;
        }
    }
}
