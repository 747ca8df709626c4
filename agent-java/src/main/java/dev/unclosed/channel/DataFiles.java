package dev.unclosed.channel;

import dev.unclosed.boot.Drain;
import dev.unclosed.boot.Recorder;
import dev.unclosed.core.AgentCore;
import dev.unclosed.core.AgentLog;
import java.io.File;
import java.io.IOException;
import java.lang.management.ManagementFactory;

/**
 * Drains into a data folder by itself, for JVMs that no controller talks to (tests, CI):
 * every few seconds, and a last time at exit. Files are {@code unclosed-<pid>-<seq>.tsv},
 * renamed into place when whole, so a JVM killed hard still leaves all it wrote before.
 */
public final class DataFiles {
    private final File dir;
    private final AgentCore core;
    private final String prefix;
    private int seq;
    private boolean closed;

    private DataFiles(File dir, AgentCore core) {
        this.dir = dir;
        this.core = core;
        this.prefix = "unclosed-" + ManagementFactory.getRuntimeMXBean().getName().split("@")[0] + "-";
    }

    public static DataFiles start(File dir, AgentCore core, int flushSeconds) throws IOException {
        if (!dir.isDirectory() && !dir.mkdirs()) throw new IOException("cannot create data folder " + dir);
        DataFiles files = new DataFiles(dir, core);
        Thread flusher = new Thread(() -> {
            Recorder.ignoreCurrentThread();
            try {
                while (true) {
                    Thread.sleep(flushSeconds * 1000L);
                    if (!files.write(null, false)) return;
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "unclosed-data");
        flusher.setDaemon(true);
        flusher.start();
        return files;
    }

    /**
     * Writes one drain file (the given drain, or a fresh one); {@code last} closes the folder
     * for this JVM. False once closed or no longer tracking.
     */
    public synchronized boolean write(Drain drain, boolean last) {
        if (closed) return false;
        closed = last;
        try {
            Drain d = drain != null ? drain : Recorder.drain();
            if (d == null) return false;
            String name = prefix + String.format("%06d", ++seq) + ".tsv";
            File tmp = new File(dir, "." + name + ".tmp");
            DrainWriter.write(tmp, d, core.facts(), last);
            if (!tmp.renameTo(new File(dir, name))) throw new IOException("cannot rename " + tmp);
            return true;
        } catch (Throwable t) {
            AgentLog.write("data file not written: " + t);
            Recorder.error(t);
            return !last;
        }
    }
}
