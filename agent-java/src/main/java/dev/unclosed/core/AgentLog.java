package dev.unclosed.core;

import java.io.File;
import java.io.FileWriter;
import java.io.IOException;
import java.io.PrintWriter;

/** The agent's own notices and errors, in {@code agent.log} in the agent directory; bounded. */
public final class AgentLog {
    private static final long MAX_BYTES = 1 << 20;
    private static volatile File file;

    private AgentLog() {}

    static void openIn(File dir) {
        file = new File(dir, "agent.log");
    }

    public static synchronized void write(String message) {
        File f = file;
        if (f == null || f.length() > MAX_BYTES) return;
        try (PrintWriter w = new PrintWriter(new FileWriter(f, true))) {
            w.println(System.currentTimeMillis() + " " + message);
        } catch (IOException ignored) {
            // The log is best effort; the agent must not fail because of it.
        }
    }
}
