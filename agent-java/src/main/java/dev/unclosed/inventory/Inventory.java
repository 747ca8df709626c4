package dev.unclosed.inventory;

import dev.unclosed.boot.Kinds;
import java.lang.instrument.Instrumentation;
import java.lang.reflect.InvocationTargetException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * What holds native memory already when the agent attaches: the zlib objects, direct buffers
 * and Akka or Pekko streams alive then, found where the JDK and the libraries keep them (no heap
 * dump; the application is never stopped) and adopted by the recorder, which watches them from
 * then on as it watches what it tracks, under a site per kind without a stack (role {@code p}):
 * a release or a reclaim later counts, and what is still held at the end is what was held
 * before the attach and still is. Taken once, on attach, once the instrumentation is active:
 * an object created since is tracked already and is not adopted. Bounded ({@link Budget}), and
 * never throws: what could not be counted, and why, is in {@link #notes}.
 */
public final class Inventory {
    private static final long MAX_ENTRIES = 10_000_000;
    private static final long MAX_MILLIS = 2_000;
    static final String JDK = "JDK " + System.getProperty("java.version");
    /** What the walks read of java.base, opened to the agent's own module only. */
    private static final String[] JDK_PACKAGES = {
        "jdk.internal.ref", "java.util.zip", "sun.net.www.protocol.jar", "java.nio", "sun.nio.ch",
    };

    public final long deflaters;
    public final long inflaters;
    /** Inflaters of ZipFile's pools (idle, or lent to an entry's stream): the JDK's, left out. */
    public final long zipPoolInflaters;
    public final long directBuffers;
    public final long directBytes;
    public final long streams;
    public final long millis;
    /** What could not be counted, and why, with the JDK or library that hid it. */
    public final List<Note> notes;

    private Inventory(ZlibObjects zlib, DirectBuffers direct, StreamActors streams, long millis, List<Note> notes) {
        this.deflaters = zlib.deflaters;
        this.inflaters = zlib.inflaters;
        this.zipPoolInflaters = zlib.zipPool;
        this.directBuffers = direct.count;
        this.directBytes = direct.bytes;
        this.streams = streams.streams;
        this.millis = millis;
        this.notes = Collections.unmodifiableList(notes);
    }

    /** Something the inventory could not count, for the readers of the family it belongs to. */
    public static final class Note {
        public final String family;
        public final String text;

        Note(String family, String text) {
            this.family = family;
            this.text = text;
        }
    }

    public static Inventory take(Instrumentation inst) {
        long start = System.nanoTime();
        Budget budget = new Budget(MAX_ENTRIES, MAX_MILLIS);
        List<Note> notes = new ArrayList<>();
        ZlibObjects zlib = new ZlibObjects();
        DirectBuffers direct = new DirectBuffers();
        StreamActors streams = new StreamActors(budget);
        try {
            openJavaBase(inst);
        } catch (RuntimeException e) {
            // Each walk then fails on the access it lacks, and says so.
        }
        String zlibFamily = Kinds.get(Kinds.DEFLATER).family();
        count(notes, budget, zlibFamily, "zlib objects alive at attach", () -> zlib.adopt(budget));
        String directFamily = Kinds.get(Kinds.DIRECT).family();
        count(notes, budget, directFamily, "direct buffers alive at attach", () -> direct.adopt(budget, notes, directFamily));
        String streamFamily = Kinds.get(Kinds.STREAM).family();
        String uncounted = "streams running at attach";
        count(notes, budget, streamFamily, uncounted, () -> streams.adopt(inst, notes, streamFamily, uncounted + " not counted"));
        return new Inventory(zlib, direct, streams, (System.nanoTime() - start) / 1_000_000, notes);
    }

    private interface Walk {
        void run() throws Exception;
    }

    /** Runs one walk; a failure, or a walk cut short, becomes a note. */
    private static void count(List<Note> notes, Budget budget, String family, String what, Walk walk) {
        try {
            walk.run();
            if (budget.spent()) notes.add(new Note(family, what + " counted in part: " + budget.limit()));
        } catch (Throwable t) {
            notes.add(new Note(family, JDK + ": " + reason(t) + ": " + what + " not counted"));
        }
    }

    private static void openJavaBase(Instrumentation inst) {
        Module javaBase = Object.class.getModule();
        Map<String, Set<Module>> opens = new HashMap<>();
        for (String pkg : JDK_PACKAGES) opens.put(pkg, Collections.singleton(Inventory.class.getModule()));
        inst.redefineModule(javaBase, Collections.emptySet(), Collections.emptyMap(), opens, Collections.emptySet(),
                Collections.emptyMap());
    }

    /** The failure's own words, without the reflection around it. */
    static String reason(Throwable t) {
        while ((t instanceof InvocationTargetException || t instanceof ExceptionInInitializerError) && t.getCause() != null) {
            t = t.getCause();
        }
        return t instanceof Members.Missing ? t.getMessage() : t.toString();
    }

    /** {@code 100 Deflaters, 20 Inflaters (1 more in ZipFile pools, not counted), 16 direct buffers (64.0 MiB), 5 streams in 80 ms}. */
    public String summary() {
        return deflaters + " Deflaters, " + inflaters + " Inflaters (" + zipPoolInflaters
                + " more in ZipFile pools, not counted), " + directBuffers + " direct buffers ("
                + String.format(Locale.ROOT, "%.1f MiB", directBytes / 1048576.0) + "), " + streams + " streams in " + millis + " ms";
    }
}
