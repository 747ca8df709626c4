package dev.unclosed.io;

import dev.unclosed.boot.Recorder;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;

/** The agent's own notices and errors, in {@code agent.log} in the agent's folder (owner-only, bounded). */
public final class AgentLog {
    private static final long MAX_BYTES = 1 << 20;
    private static volatile Path file;

    private AgentLog() {}

    public static void openIn(Path dir) {
        file = dir.resolve("agent.log");
    }

    /** The last line written, for a failure to report to whoever attached. */
    public static synchronized void write(String message) {
        Path f = file;
        if (f == null) return;
        // Often on a thread of the application's (a class loading): the file's buffers are not its.
        Recorder.beginAgentWork();
        try {
            if (Files.exists(f, LinkOption.NOFOLLOW_LINKS) && Files.size(f) > MAX_BYTES) return;
            try (OutputStream out = PrivateFiles.append(f)) {
                out.write((System.currentTimeMillis() + " " + message.replace('\n', ' ') + "\n").getBytes(StandardCharsets.UTF_8));
            }
        } catch (Throwable ignored) {
            // The log is best effort: nothing it meets (an I/O error, a class that cannot load yet) may fail the agent.
        } finally {
            Recorder.endAgentWork();
        }
    }
}
