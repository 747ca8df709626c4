package dev.unclosed.channel;

import dev.unclosed.inventory.Inventory;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * What one tracking session is, built once when tracking has begun: the JVM, how the agent
 * came, since when it sees every object. The {@code J} records of each drain file.
 */
public final class SessionFacts {
    public static final String AGENT_VERSION = "0.2.0";
    /** The facts that are numbers (the others are text). */
    public static final Set<String> NUMBERS = Collections.unmodifiableSet(new HashSet<>(Arrays.asList("pid", "tracking_since_ms", "sample")));

    /** Tells this session from any other, also of the same pid: a reader keeps each drain of it once. */
    public final String session;
    public final String pid;
    public final String mode;
    public final long trackingSinceMs;
    public final int sample;
    public final String mainClass;
    /** What was alive when the agent attached (null when it came at startup). */
    public final Inventory inventory;
    private final Map<String, String> asRecords;

    public SessionFacts(String mode, long trackingSinceMs, int sample, Inventory inventory) {
        this.session = Long.toHexString(new SecureRandom().nextLong() & Long.MAX_VALUE);
        this.pid = currentPid();
        this.mode = mode;
        this.trackingSinceMs = trackingSinceMs;
        this.sample = sample;
        this.mainClass = mainClass(System.getProperty("sun.java.command", ""));
        this.inventory = inventory;
        Map<String, String> f = new LinkedHashMap<>();
        f.put("session", session);
        f.put("pid", pid);
        f.put("java_version", System.getProperty("java.version"));
        f.put("java_vendor", System.getProperty("java.vendor"));
        f.put("java_home", System.getProperty("java.home"));
        f.put("main_class", mainClass);
        f.put("mode", mode);
        f.put("tracking_since_ms", Long.toString(trackingSinceMs));
        f.put("agent_version", AGENT_VERSION);
        f.put("sample", Integer.toString(sample));
        asRecords = Collections.unmodifiableMap(f);
    }

    /** Name to value, in the order a drain file lists them. */
    public Map<String, String> records() {
        return asRecords;
    }

    public static String currentPid() {
        return Long.toString(ProcessHandle.current().pid());
    }

    /** The main class, or the source file when the JDK's source launcher runs one. */
    static String mainClass(String command) {
        String[] words = command.trim().split("\\s+");
        boolean launcher = words[0].contains("com.sun.tools.javac.launcher.");
        return launcher && words.length > 1 ? words[1] : words[0];
    }
}
