package dev.unclosed.channel;

import dev.unclosed.boot.Drain;
import dev.unclosed.boot.Recorder;
import dev.unclosed.io.AgentLog;
import dev.unclosed.io.PrivateFiles;
import java.nio.file.Path;

/**
 * Drains into a data folder by itself, for JVMs that no controller talks to (tests, CI):
 * every few seconds, and a last time at exit. Files are {@code unclosed-<pid>-<session>-<seq>.tsv}
 * (the session tells apart JVMs of one pid: containers, a folder used again), each
 * written whole before it appears under its name, so a JVM killed hard still leaves all it
 * wrote before. The folder is the reader: it knows every site, thread and test written so far.
 */
public final class DataFiles {
    private final Path dir;
    private final SessionFacts facts;
    private final long intervalMs;
    private Thread flusher;
    private int seq;
    private int sitesKnown;
    private int threadsKnown;
    private int testsKnown;
    private boolean closed;

    private DataFiles(Path dir, SessionFacts facts, long intervalMs) {
        this.dir = dir;
        this.facts = facts;
        this.intervalMs = intervalMs;
    }

    /** Starts writing into {@code folder}, a folder of this user's alone (see PrivateFiles.folder). */
    public static DataFiles start(Path folder, SessionFacts facts, int flushSeconds) {
        DataFiles files = new DataFiles(folder, facts, flushSeconds * 1000L);
        files.flusher = new Thread(() -> {
            Recorder.ignoreCurrentThread();
            try {
                while (true) {
                    Thread.sleep(files.intervalMs);
                    if (!files.write(false)) return;
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "unclosed-data");
        files.flusher.setDaemon(true);
        files.flusher.start();
        return files;
    }

    /**
     * Writes one drain file; {@code last} (the JVM exits) closes the folder for this JVM and
     * counts nothing young as in flight. False once closed or no longer tracking.
     */
    public synchronized boolean write(boolean last) {
        if (closed) return false;
        closed = last;
        try {
            Drain d = Recorder.drain(sitesKnown, threadsKnown, testsKnown, last ? 0 : intervalMs);
            if (d == null) return false;
            String name = "unclosed-" + facts.pid + "-" + facts.session + "-" + String.format("%06d", ++seq) + ".tsv";
            DrainWriter.writeFile(dir, name, d, facts, last);
            sitesKnown = d.sitesKnown;
            threadsKnown = d.threadsKnown;
            testsKnown = d.testsKnown;
            return true;
        } catch (Throwable t) {
            AgentLog.write("data file not written: " + t);
            Recorder.error(t);
            return !last;
        }
    }

    /** Stops the periodic writes (detach). */
    public void stop() {
        flusher.interrupt();
    }
}
