package dev.unclosed.channel;

import dev.unclosed.boot.Drain;
import dev.unclosed.boot.Site;
import dev.unclosed.boot.SiteCounts;
import dev.unclosed.boot.SiteTotals;
import dev.unclosed.inventory.Inventory;
import dev.unclosed.io.PrivateFiles;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** Writes a {@link Drain} as a drain file, format 2 of docs/protocol.md. */
public final class DrainWriter {
    static final int FORMAT = 2;
    /** The last data of a session a controller was recording, left in the agent's folder at exit. */
    public static final String EXIT_FILE = "exit.tsv";

    private final Writer w;
    private long lines;

    private DrainWriter(OutputStream out) {
        this.w = new BufferedWriter(new OutputStreamWriter(out, StandardCharsets.UTF_8), 1 << 16);
    }

    /** Writes the drain file {@code dir/name}, whole or not at all. */
    public static Path writeFile(Path dir, String name, Drain drain, SessionFacts facts, boolean last) throws IOException {
        return PrivateFiles.writeAtomically(dir, name, out -> write(out, drain, facts, last));
    }

    /**
     * Writes the file; {@code last}: the JVM is exiting and nothing follows (a {@code Z} record).
     * The {@code W} record ends every file with the count of the lines before it, so that a
     * reader knows the file is whole.
     */
    private static void write(OutputStream out, Drain drain, SessionFacts facts, boolean last) throws IOException {
        DrainWriter d = new DrainWriter(out);
        d.line("V", Integer.toString(FORMAT));
        for (Map.Entry<String, String> fact : facts.records().entrySet()) d.line("J", fact.getKey(), fact.getValue());
        d.line("J", "drain_seq", Long.toString(drain.seq));
        for (Drain.ThreadName t : drain.newThreads) d.line("T", Integer.toString(t.id), t.name);
        List<String> tests = drain.newTests;
        for (int i = 0; i < tests.size(); i++) d.line("U", Integer.toString(drain.testsBefore + i + 1), tests.get(i));
        for (Site s : drain.newSites) {
            d.line("S", Integer.toString(s.id()), String.valueOf(s.role()), s.kind(), s.family(), s.culprit(), s.detail());
            String[] frames = s.frames();
            for (int i = 0; i < frames.length; i++) d.line("F", Integer.toString(s.id()), Integer.toString(i), frames[i]);
        }
        pauseForTests();
        d.objects(drain);
        for (SiteCounts c : drain.counts) {
            SiteTotals t = c.totals;
            d.numbers("C", t.site.id(), t.opened, t.released, t.leaked, t.held, t.bytesHeld, t.bytesLeaked, c.oldestHeldMs,
                    t.releasedByGc, c.inFlight, c.bytesInFlight);
        }
        DirectPool.Figures pool = DirectPool.figures();
        if (pool != null) {
            d.counter("direct_pool_count", pool.count);
            d.counter("direct_pool_used", pool.memoryUsed);
            d.counter("direct_pool_capacity", pool.totalCapacity);
        }
        Drain.Counters n = drain.counters;
        d.counter("dropped_events", n.droppedEvents);
        d.counter("dropped_sites", n.droppedSites);
        d.counter("dropped_objects", n.droppedObjects);
        d.counter("held_not_listed", n.heldNotListed);
        d.counter("errors", n.errors);
        d.counter("instrumentation_errors", n.instrumentationErrors);
        d.counter("held", n.held);
        d.inventory(facts.inventory);
        for (Drain.ErrorNote e : drain.errors) d.line("E", Long.toString(e.timeMs), e.message);
        if (last) d.line("Z", Long.toString(System.currentTimeMillis()));
        d.line("W", Long.toString(d.lines));
        d.w.flush();
    }

    /**
     * Test-only: with the system property {@code unclosed.test.drainPauseMs} set, a drain stops
     * half written for that long, so that a test can kill its reader while the agent writes.
     */
    private static void pauseForTests() {
        long pauseMs = Long.getLong("unclosed.test.drainPauseMs", 0);
        if (pauseMs <= 0) return;
        try {
            Thread.sleep(pauseMs);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Objects: those newly found held, and those reclaimed unreleased before any drain listed
     * them (their creation first), then the ends of objects listed before.
     */
    private void objects(Drain drain) throws IOException {
        long[] h = drain.held;
        for (int at = 0; at < h.length; at += Drain.HELD_WIDTH) {
            numbers("O", h[at], h[at + 1], h[at + 2], h[at + 3], h[at + 4], h[at + 5]);
        }
        long[] ev = drain.events;
        for (int at = 0; at < ev.length; at += Drain.EVENT_WIDTH) {
            if (ev[at] == Drain.LEAKED_UNREPORTED) {
                long id = ev[at + 1];
                numbers("O", id, ev[at + 2], id >>> 32, ev[at + 6], ev[at + 5], ev[at + 7]);
            }
        }
        for (int at = 0; at < ev.length; at += Drain.EVENT_WIDTH) {
            long type = ev[at], id = ev[at + 1], site = ev[at + 2], thread = ev[at + 3], time = ev[at + 4];
            if (type == Drain.RELEASED) numbers("R", id, site, thread, time);
            else if (type == Drain.FREED) numbers("G", id, thread, time);
            else numbers("L", id, time);
        }
    }

    /**
     * What was alive at attach is in the sites of role {@code p} and their {@code C} records; of
     * what it found, this adds (in every file, as it holds for the whole session) ZipFile's
     * pooled Inflaters, left out ({@code N preexisting_excluded_zip_pool}), and for each thing it
     * could not count an {@code I} record: family, then why ({@code I zlib JDK 26: ... not
     * found: zlib objects alive at attach not counted}).
     */
    private void inventory(Inventory inventory) throws IOException {
        if (inventory == null) return;
        counter("preexisting_excluded_zip_pool", inventory.zipPoolInflaters);
        for (Inventory.Note note : inventory.notes) line("I", note.family, note.text);
    }

    private void counter(String name, long value) throws IOException {
        line("N", name, Long.toString(value));
    }

    private void numbers(String record, long... fields) throws IOException {
        w.write(record);
        for (long f : fields) {
            w.write('\t');
            w.write(Long.toString(f));
        }
        w.write('\n');
        lines++;
    }

    /** Fields never hold a tab or a line break (they would split the record): spaces instead. */
    private void line(String record, String... fields) throws IOException {
        w.write(record);
        for (String f : fields) {
            w.write('\t');
            w.write(f == null ? "" : f.replace('\t', ' ').replace('\n', ' ').replace('\r', ' '));
        }
        w.write('\n');
        lines++;
    }
}
