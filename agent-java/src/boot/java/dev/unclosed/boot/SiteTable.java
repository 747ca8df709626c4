package dev.unclosed.boot;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Deduplicates stacks into sites, numbered 1, 2, ... in the order first seen. A site is
 * described (kind, culprit, frames as text) once, when first seen; later captures of the same
 * stack only hash and compare their keys.
 */
final class SiteTable {
    static final String AGENT_PACKAGE = "dev.unclosed.";
    private static final String[] JDK_PREFIXES = {"java.", "javax.", "jdk.", "sun.", "com.sun."};
    private static final String[] OVERFLOW_FRAMES = {"(more distinct stacks than max_sites)"};

    private final ConcurrentHashMap<StackKey, Site> byStack = new ConcurrentHashMap<>();
    private final List<Site> all = new ArrayList<>();
    private final int maxSites;
    /** Sites so far, read without the lock: past the cap a new stack is not read as text. */
    private volatile int count;
    private long dropped;

    SiteTable(int maxSites) {
        this.maxSites = maxSites;
    }

    /** The site of a captured stack; the first time, its frames are read again as text. */
    Site site(StackKey captured, Kind kind, String kindName) {
        Site site = byKey(captured);
        if (site != null) return site;
        return add(captured, kind, kindName, count >= maxSites ? null : StackCapture.describe(captured.size));
    }

    Site byKey(StackKey captured) {
        return byStack.get(captured);
    }

    /**
     * The site of a stack whose frames are known as text (the first capture of it; tests), or
     * of one past the cap ({@code stack} null).
     */
    synchronized Site add(StackKey captured, Kind kind, String kindName, StackTraceElement[] stack) {
        Site site = byStack.get(captured);
        if (site != null) return site;
        StackKey key;
        if (all.size() >= maxSites || stack == null) {
            // Past the cap every new stack of this kind and role shares one overflow site.
            dropped++;
            key = new StackKey(0);
            key.reset(kind.id, captured.role, null);
            key.seal();
            site = byStack.get(key);
            if (site != null) return site;
            site = new Site(all.size() + 1, captured.role, kind, captured.role == Site.RELEASE ? "" : kind.name,
                    captured.role == Site.RELEASE ? "" : kind.family, "", OVERFLOW_FRAMES, null, false);
        } else {
            key = captured.frozenCopy();
            site = describe(all.size() + 1, key, kind, kindName, stack);
        }
        remember(key, site);
        return site;
    }

    private void remember(StackKey key, Site site) {
        all.add(site);
        count = all.size();
        byStack.put(key, site);
    }

    /** The site of the objects of a kind (as a user sees it) found alive when tracking began. */
    synchronized Site preexisting(Kind kind, String kindName, String detail) {
        StackKey key = new StackKey(0);
        key.reset(kind.id, Site.PREEXISTING, (kindName == null ? kind.name : kindName) + "\n" + (detail == null ? "" : detail));
        key.seal();
        Site site = byStack.get(key);
        if (site != null) return site;
        site = new Site(all.size() + 1, Site.PREEXISTING, kind, kindName == null ? kind.name : kindName, kind.family, "",
                new String[0], detail, false);
        remember(key, site);
        return site;
    }

    private static Site describe(int id, StackKey key, Kind kind, String kindName, StackTraceElement[] stack) {
        String[] frames = new String[stack.length];
        String culprit = "";
        for (int i = 0; i < stack.length; i++) {
            frames[i] = format(stack[i]);
            if (culprit.isEmpty() && kind.isCulprit(stack[i].getClassName())) culprit = frames[i];
        }
        if (key.role == Site.RELEASE) return new Site(id, Site.RELEASE, kind, "", "", culprit, frames, null, false);
        if (kindName != null) return new Site(id, key.role, kind, kindName, kind.family, culprit, frames, key.detail, false);

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
        return new Site(id, key.role, kind, attributed, kind.family, culprit, frames, key.detail, pooled);
    }

    static boolean isJdkOrAgent(String className) {
        if (className.startsWith(AGENT_PACKAGE)) return true;
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

    /** The sites numbered above {@code known}, in order: what a reader who has the first {@code known} lacks. */
    synchronized List<Site> after(int known) {
        return known >= all.size() ? new ArrayList<>() : new ArrayList<>(all.subList(Math.max(0, known), all.size()));
    }

    int size() {
        return count;
    }

    /** The sites whose objects are counted: creation sites and objects found at attach, not pools'. */
    synchronized List<Site> counting() {
        List<Site> sites = new ArrayList<>();
        for (Site s : all) {
            if (s.counts()) sites.add(s);
        }
        return sites;
    }

    synchronized long dropped() {
        return dropped;
    }
}
