package dev.unclosed.boot;

import java.util.Arrays;

/**
 * The resource kinds; advice passes these ids to {@link Recorder}. The built-in kinds have fixed
 * ids; the resources a user names in a rules file are added by {@link #register}.
 *
 * <p>Native size estimates (zlib 1.2/1.3 with the JDK's settings, windowBits 15, memLevel 8):
 * a Deflater allocates its window, prev and head tables and pending buffer,
 * (1 &lt;&lt; (15 + 2)) + (1 &lt;&lt; (8 + 9)) = 256 KiB, plus its ~6 KiB state. An Inflater
 * allocates a ~7 KiB state and a 32 KiB window once it has inflated anything; we count both.
 * A direct buffer's size is its capacity, given by the advice per buffer.
 */
public final class Kinds {
    public static final int INFLATER = 0;
    public static final int DEFLATER = 1;
    /** Memory of {@code ByteBuffer.allocateDirect}, tracked through its {@code DirectByteBuffer$Deallocator}. */
    public static final int DIRECT = 2;
    /** An Akka or Apache Pekko stream: the interpreter shell that runs it in a stream actor. */
    public static final int STREAM = 3;

    /** Kinds a rules file may add, at most (each retransformation of a session adds its own). */
    static final int MAX_KINDS = 1024;

    public static final long DEFLATER_BYTES = (1L << 17) + (1L << 17) + 6 * 1024;
    public static final long INFLATER_BYTES = 7 * 1024 + 32 * 1024;

    /** ZipFile and zipfs keep Inflaters in pools and end them when the file closes. */
    private static final String[] ZIP_POOLS = {"java.util.zip.ZipFile", "jdk.nio.zipfs."};
    /** Frames of the stream libraries (and Scala's) are never a stream's culprit. */
    private static final String[] STREAM_LIBRARIES = {"akka.", "org.apache.pekko.", "scala."};

    private static volatile Kind[] all = {
        new Kind(INFLATER, "java.util.zip.Inflater", "zlib", INFLATER_BYTES, null, "java.util.zip.InflaterInputStream", ZIP_POOLS),
        new Kind(DEFLATER, "java.util.zip.Deflater", "zlib", DEFLATER_BYTES, null, "java.util.zip.DeflaterOutputStream", ZIP_POOLS),
        new Kind(DIRECT, "java.nio.DirectByteBuffer", "direct", 0),
        new Kind(STREAM, "stream", "actor", 0, STREAM_LIBRARIES),
    };

    private Kinds() {}

    public static Kind get(int id) {
        return all[id];
    }

    /**
     * Adds a kind of the user's (a rule): objects of {@code className}, in {@code family}, of
     * {@code bytes} each; frames of the {@code library} packages are never the culprit.
     * Returns its id, to be bound into the rule's advice.
     */
    public static synchronized int register(String className, String family, long bytes, String[] library) {
        Kind[] kinds = all;
        if (kinds.length >= MAX_KINDS) throw new IllegalStateException("more than " + MAX_KINDS + " kinds of resources");
        Kind[] more = Arrays.copyOf(kinds, kinds.length + 1);
        more[kinds.length] = new Kind(kinds.length, className, family, bytes, library, null, null);
        all = more;
        return kinds.length;
    }
}
