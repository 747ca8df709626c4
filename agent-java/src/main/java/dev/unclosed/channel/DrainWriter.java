package dev.unclosed.channel;

import dev.unclosed.boot.Drain;
import dev.unclosed.boot.Site;
import java.io.BufferedWriter;
import java.io.File;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

/** Writes a {@link Drain} as a drain file, format 1 of docs/protocol.md. */
final class DrainWriter {
    private DrainWriter() {}

    /**
     * Writes the file; returns the number of events written. {@code last}: the JVM is exiting
     * and nothing follows (a {@code Z} record ends the file).
     */
    static int write(File file, Drain drain, Map<String, String> facts, boolean last) throws IOException {
        int events = drain.events.length / Drain.EVENT_WIDTH;
        try (Writer w = new BufferedWriter(new OutputStreamWriter(new FileOutputStream(file), StandardCharsets.UTF_8), 1 << 16)) {
            w.write("V\t1\n");
            for (Map.Entry<String, String> fact : facts.entrySet()) line(w, "J", fact.getKey(), fact.getValue());
            for (String[] thread : drain.newThreads) line(w, "T", thread[0], thread[1]);
            for (Site s : drain.newSites) {
                line(w, "S", Integer.toString(s.id()), s.isCreation() ? "c" : "r", s.kind(), s.family(), s.culprit(), s.detail());
                String[] frames = s.frames();
                for (int i = 0; i < frames.length; i++) line(w, "F", Integer.toString(s.id()), Integer.toString(i), frames[i]);
            }
            writeEvents(w, drain.events);
            for (Site s : drain.creationSites) {
                long[] t = s.totals();
                long oldest = s.id() < drain.oldestHeld.length ? drain.oldestHeld[s.id()] : 0;
                w.write("C\t" + s.id() + "\t" + t[0] + "\t" + t[1] + "\t" + t[2] + "\t" + t[3] + "\t" + t[4] + "\t" + t[5]
                        + "\t" + oldest + "\t" + t[6] + "\n");
            }
            long[] pool = DirectPool.figures();
            if (pool != null) {
                line(w, "N", "direct_pool_count", Long.toString(pool[0]));
                line(w, "N", "direct_pool_used", Long.toString(pool[1]));
                line(w, "N", "direct_pool_capacity", Long.toString(pool[2]));
            }
            line(w, "N", "dropped_events", Long.toString(drain.droppedEvents));
            line(w, "N", "dropped_sites", Long.toString(drain.droppedSites));
            line(w, "N", "dropped_objects", Long.toString(drain.droppedObjects));
            line(w, "N", "errors", Long.toString(drain.errors));
            line(w, "N", "held", Long.toString(drain.held));
            for (String[] e : drain.errorMessages) line(w, "E", e[0], e[1]);
            if (last) line(w, "Z", Long.toString(System.currentTimeMillis()));
        }
        return events;
    }

    /**
     * Creations first, so that a reader meets an object before its release or leak. An object
     * created and released within this drain, the common case, is one {@code X} line.
     */
    private static void writeEvents(Writer w, long[] ev) throws IOException {
        Map<Long, Integer> releasedAt = new HashMap<>();
        for (int at = 0; at < ev.length; at += Drain.EVENT_WIDTH) {
            if (ev[at] == Drain.RELEASED) releasedAt.put(ev[at + 1], at);
        }
        StringBuilder b = new StringBuilder(96);
        for (int type : new int[] {Drain.CREATED, Drain.RELEASED, Drain.FREED, Drain.LEAKED}) {
            for (int at = 0; at < ev.length; at += Drain.EVENT_WIDTH) {
                if (ev[at] != type) continue;
                b.setLength(0);
                long id = ev[at + 1], site = ev[at + 2], thread = ev[at + 3], time = ev[at + 4], bytes = ev[at + 5];
                if (type == Drain.CREATED) {
                    Integer r = releasedAt.remove(id);
                    b.append(r == null ? "O\t" : "X\t").append(id).append('\t').append(site).append('\t').append(thread)
                            .append('\t').append(time).append('\t').append(bytes);
                    if (r != null) b.append('\t').append(ev[r + 2]).append('\t').append(ev[r + 3]).append('\t').append(ev[r + 4]);
                } else if (type == Drain.RELEASED) {
                    if (!releasedAt.containsKey(id)) continue; // written with its creation
                    b.append("R\t").append(id).append('\t').append(site).append('\t').append(thread).append('\t').append(time);
                } else if (type == Drain.FREED) {
                    b.append("G\t").append(id).append('\t').append(thread).append('\t').append(time);
                } else {
                    b.append("L\t").append(id).append('\t').append(time);
                }
                w.append(b).append('\n');
            }
        }
    }

    private static void line(Writer w, String record, String... fields) throws IOException {
        w.write(record);
        for (String f : fields) {
            w.write('\t');
            w.write(f == null ? "" : f.replace('\t', ' ').replace('\n', ' ').replace('\r', ' '));
        }
        w.write('\n');
    }
}
