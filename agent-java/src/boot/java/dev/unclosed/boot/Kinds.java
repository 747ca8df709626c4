package dev.unclosed.boot;

/**
 * The resource kinds; advice passes these ids to {@link Recorder#track}.
 *
 * <p>Native size estimates (zlib 1.2/1.3 with the JDK's settings, windowBits 15, memLevel 8):
 * a Deflater allocates its window, prev and head tables and pending buffer,
 * (1 &lt;&lt; (15 + 2)) + (1 &lt;&lt; (8 + 9)) = 256 KiB, plus its ~6 KiB state. An Inflater
 * allocates a ~7 KiB state and a 32 KiB window once it has inflated anything; we count both.
 */
public final class Kinds {
    public static final int INFLATER = 0;
    public static final int DEFLATER = 1;

    static final long DEFLATER_BYTES = (1L << 17) + (1L << 17) + 6 * 1024;
    static final long INFLATER_BYTES = 7 * 1024 + 32 * 1024;

    /** ZipFile and zipfs keep Inflaters in pools and end them when the file closes. */
    private static final String[] ZIP_POOLS = {"java.util.zip.ZipFile", "jdk.nio.zipfs."};

    static final Kind[] ALL = {
        new Kind(INFLATER, "java.util.zip.Inflater", "zlib", INFLATER_BYTES, "java.util.zip.InflaterInputStream", ZIP_POOLS),
        new Kind(DEFLATER, "java.util.zip.Deflater", "zlib", DEFLATER_BYTES, "java.util.zip.DeflaterOutputStream", ZIP_POOLS),
    };

    private Kinds() {}
}
