package dev.unclosed.rules;

import java.util.Collections;
import java.util.List;

/**
 * A resource a user names in a rules file: objects of {@link #className}, acquired by its
 * constructors or returned by its method {@link #acquire}, released by its methods
 * {@link #release}, reported in {@link #family} with {@link #bytes} each. Frames of the
 * {@link #skip} packages (the library's own) are never the culprit.
 */
public final class Rule {
    /** {@code acquire = "constructor"}: every constructor of the class creates one. */
    public static final String CONSTRUCTOR = "constructor";

    public final String className;
    public final String acquire;
    public final List<String> release;
    public final String family;
    public final long bytes;
    public final List<String> skip;

    Rule(String className, String acquire, List<String> release, String family, long bytes, List<String> skip) {
        this.className = className;
        this.acquire = acquire;
        this.release = Collections.unmodifiableList(release);
        this.family = family;
        this.bytes = bytes;
        this.skip = Collections.unmodifiableList(skip);
    }

    public boolean byConstructor() {
        return CONSTRUCTOR.equals(acquire);
    }
}
