package dev.unclosed.channel;

import dev.unclosed.boot.Drain;
import dev.unclosed.boot.Recorder;
import dev.unclosed.boot.SiteTotals;
import dev.unclosed.io.PrivateFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Supplier;

/** The py4j entry point: what the controller may ask of the agent. Answers are short JSON text. */
public final class AgentControl {
    private final SessionFacts facts;
    private final Path dir;
    private final Readers readers;
    private final Supplier<String> rulesJson;
    private final Runnable detach;

    /** {@code rulesJson}: how the rules matched, a JSON array; {@code detach}: ends the session. */
    public AgentControl(SessionFacts facts, Path dir, Readers readers, Supplier<String> rulesJson, Runnable detach) {
        this.facts = facts;
        this.dir = dir;
        this.readers = readers;
        this.rulesJson = rulesJson;
        this.detach = detach;
    }

    public String version() {
        return SessionFacts.AGENT_VERSION;
    }

    public String status() {
        Recorder.ignoreCurrentThread();
        Recorder.Status s = Recorder.status();
        StringBuilder json = new StringBuilder("{");
        for (Map.Entry<String, String> fact : facts.records().entrySet()) {
            String value = SessionFacts.NUMBERS.contains(fact.getKey()) ? fact.getValue() : Json.quote(fact.getValue());
            json.append(Json.quote(fact.getKey())).append(": ").append(value).append(", ");
        }
        long bytesHeld = 0;
        StringBuilder families = new StringBuilder("{");
        for (Map.Entry<String, long[]> family : heldByFamily().entrySet()) {
            if (families.length() > 1) families.append(", ");
            long[] f = family.getValue();
            families.append(Json.quote(family.getKey())).append(": {\"held\": ").append(f[0]).append(", \"bytes_held\": ")
                    .append(f[1]).append('}');
            bytesHeld += f[1];
        }
        return json.append("\"held\": ").append(s.held).append(", \"bytes_held\": ").append(bytesHeld)
                .append(", \"pending_events\": ").append(s.pendingEvents).append(", \"dropped_events\": ").append(s.droppedEvents)
                .append(", \"errors\": ").append(s.errors).append(", \"instrumentation_errors\": ").append(s.instrumentationErrors)
                .append(", \"agent_dir\": ").append(Json.quote(dir.toString())).append(", \"rules\": ").append(rulesJson.get())
                .append(", \"families\": ").append(families).append("}}").toString();
    }

    /** {held, bytes held} by family; one walk over the sites. */
    private static Map<String, long[]> heldByFamily() {
        Map<String, long[]> families = new TreeMap<>();
        for (SiteTotals t : Recorder.totals()) {
            long[] f = families.computeIfAbsent(t.site.family(), k -> new long[2]);
            f[0] += t.held;
            f[1] += t.bytesHeld;
        }
        return families;
    }

    /**
     * Writes what this reader lacks (it knows the first {@code sitesKnown} sites, threads and
     * tests) to the file {@code name} in the agent's folder; objects younger than
     * {@code intervalMs} count as in flight. One drain at a time.
     */
    public synchronized String drain(String name, int sitesKnown, int threadsKnown, int testsKnown, long intervalMs)
            throws IOException {
        Recorder.ignoreCurrentThread();
        if (!PrivateFiles.isPlainName(name)) throw new IllegalArgumentException("a drain file is a plain name, not " + name);
        Drain drain = Recorder.drain(sitesKnown, threadsKnown, testsKnown, intervalMs);
        if (drain == null) throw new IllegalStateException("the agent is not tracking (detached)");
        Path file = DrainWriter.writeFile(dir, name, drain, facts, false);
        readers.drained(drain, intervalMs);
        return "{\"seq\": " + drain.seq + ", \"events\": " + drain.events.length / Drain.EVENT_WIDTH + ", \"held_listed\": "
                + drain.held.length / Drain.HELD_WIDTH + ", \"new_sites\": " + drain.newSites.size() + ", \"sites_known\": "
                + drain.sitesKnown + ", \"threads_known\": " + drain.threadsKnown + ", \"tests_known\": " + drain.testsKnown
                + ", \"bytes\": " + Files.size(file) + "}";
    }

    /**
     * A reader begins recording, draining every {@code intervalMs}: should the JVM exit before
     * its first drain, the exit still leaves it everything.
     */
    public String beginReading(long intervalMs) {
        readers.began(intervalMs);
        return "{\"reading\": true}";
    }

    /** The reader stops recording: at exit, no data is left for it. */
    public String finishReading() {
        readers.finished();
        return "{\"reading\": false}";
    }

    public String detach() {
        Recorder.ignoreCurrentThread();
        detach.run();
        return "{\"detached\": true}";
    }
}
