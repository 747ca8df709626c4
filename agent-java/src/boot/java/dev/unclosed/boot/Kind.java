package dev.unclosed.boot;

/**
 * A kind of tracked resource: its class, family, estimated native size, the packages of the
 * library that creates it (never the culprit), which classes own it when they create it (their
 * findings are reported under the owner), and which classes pool it (pooled objects are not
 * leaks and are not tracked).
 */
public final class Kind {
    private static final String[] NONE = {};

    final int id;
    final String name;
    final String family;
    final long bytes;
    private final String[] libraryPrefixes;
    private final String ownerType;
    private final String[] poolPrefixes;

    Kind(int id, String name, String family, long bytes, String[] libraryPrefixes, String ownerType, String[] poolPrefixes) {
        this.id = id;
        this.name = name;
        this.family = family;
        this.bytes = bytes;
        this.libraryPrefixes = libraryPrefixes == null ? NONE : libraryPrefixes.clone();
        this.ownerType = ownerType;
        this.poolPrefixes = poolPrefixes == null ? NONE : poolPrefixes;
    }

    /** A kind whose objects no class owns or pools. */
    Kind(int id, String name, String family, long bytes, String... libraryPrefixes) {
        this(id, name, family, bytes, libraryPrefixes, null, null);
    }

    public String name() {
        return name;
    }

    public String family() {
        return family;
    }

    boolean isPool(String className) {
        return startsWithAny(className, poolPrefixes);
    }

    /** A frame of the resource's own class or library: it never names the culprit. */
    boolean isLibrary(String className) {
        return className.equals(name) || startsWithAny(className, libraryPrefixes);
    }

    /** A frame that can name the culprit: neither the JDK's, the agent's, nor the resource's library. */
    boolean isCulprit(String className) {
        return !SiteTable.isJdkOrAgent(className) && !isLibrary(className);
    }

    private static boolean startsWithAny(String className, String[] prefixes) {
        for (String prefix : prefixes) {
            if (className.startsWith(prefix)) return true;
        }
        return false;
    }

    static boolean isZipPackage(String className) {
        return className.startsWith("java.util.zip.") || className.startsWith("java.util.jar.");
    }

    /** The JDK class that created this resource in its constructor and owns it, or null. */
    String ownerOf(String creatorClass) {
        if (ownerType == null || !isZipPackage(creatorClass)) return null;
        try {
            Class<?> owner = Class.forName(ownerType, false, null);
            Class<?> creator = Class.forName(creatorClass, false, null);
            return owner.isAssignableFrom(creator) ? creatorClass : null;
        } catch (ClassNotFoundException e) {
            return null;
        }
    }
}
