import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.LongAdder;
import java.util.zip.CRC32;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;
import java.util.zip.Inflater;

/**
 * One benchmark workload in one JVM: warms up, then counts operations for a fixed time.
 * bench/run.py runs it with no agent, with unclosed and with async-profiler.
 *
 * <p>Usage: {@code java ZlibBench WORKLOAD WARMUP_S MEASURE_S THREADS}. Prints {@code measuring}
 * when the measured part begins, then {@code RESULT ops_per_s=N cpu_s=C}: operations per second
 * and the CPU time (user + system, all threads) the process spent in the measured part.
 *
 * <p>Workloads, one operation each:
 * <ul>
 * <li>{@code gzip-1k}, {@code gzip-64k}: a GZIP round trip of a message of that size, closed;
 * <li>{@code gzip-1k-leak}: the same at 1 KiB, but 1 writer in 100 is dropped unclosed (its
 *     Deflater leaks), and 5 Inflaters are held from the start;
 * <li>{@code direct-4k}: a 4 KiB direct buffer, written and dropped (the GC frees it);
 * <li>{@code inflaters}: an Inflater created and ended;
 * <li>{@code no-zlib}: a CRC32 of 1 KiB, nothing tracked (an agent attached but idle).
 * </ul>
 */
public class ZlibBench {
    /** Keeps the JIT from dropping work whose result is unused. */
    static volatile long sink;
    static final List<Inflater> HELD = new ArrayList<>();

    public static void main(String[] args) throws Exception {
        String workload = args[0];
        long warmupNanos = (long) (Double.parseDouble(args[1]) * 1e9);
        long measureNanos = (long) (Double.parseDouble(args[2]) * 1e9);
        int threads = Integer.parseInt(args[3]);
        if (workload.equals("gzip-1k-leak")) {
            for (int i = 0; i < 5; i++) HELD.add(new Inflater());
        }
        LongAdder ops = new LongAdder();
        List<Thread> workers = new ArrayList<>();
        long start = System.nanoTime();
        long measureFrom = start + warmupNanos;
        long end = measureFrom + measureNanos;
        for (int t = 0; t < threads; t++) {
            Thread worker = new Thread(() -> {
                byte[] message = message(new Random(42), workload.equals("gzip-64k") ? 65536 : 1024);
                long i = 0;
                try {
                    for (long now = System.nanoTime(); now < end; now = System.nanoTime()) {
                        operation(workload, message, i++);
                        if (now >= measureFrom) ops.increment();
                    }
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
            });
            workers.add(worker);
            worker.start();
        }
        sleepUntil(measureFrom);
        double cpuFrom = cpuSeconds();
        System.out.println("measuring");
        for (Thread worker : workers) worker.join();
        double cpu = cpuSeconds() - cpuFrom;
        System.out.println("RESULT ops_per_s=" + (long) (ops.sum() / (measureNanos / 1e9)) + " cpu_s=" + cpu);
    }

    static void operation(String workload, byte[] message, long i) throws IOException {
        switch (workload) {
            case "gzip-1k":
            case "gzip-64k":
                roundTrip(message, true);
                break;
            case "gzip-1k-leak":
                roundTrip(message, i % 100 != 0);
                break;
            case "direct-4k":
                ByteBuffer buffer = ByteBuffer.allocateDirect(4096);
                buffer.put(message, 0, Math.min(message.length, 4096));
                break;
            case "inflaters":
                new Inflater().end();
                break;
            case "no-zlib":
                CRC32 crc = new CRC32();
                crc.update(message);
                sink += crc.getValue();
                break;
            default:
                throw new IllegalArgumentException("unknown workload " + workload);
        }
    }

    /** Compresses and decompresses the message; {@code close}: false leaves the writer unclosed. */
    static void roundTrip(byte[] message, boolean close) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(message.length / 2 + 64);
        GZIPOutputStream out = new GZIPOutputStream(bytes);
        out.write(message);
        if (close) out.close();
        else out.finish();
        try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
            byte[] buf = new byte[8192];
            while (in.read(buf) >= 0) { }
        }
    }

    /** Compressible text-like bytes. */
    static byte[] message(Random random, int size) {
        String words = "the quick brown fox jumps over a lazy dog while unclosed counts deflaters ";
        byte[] m = new byte[size];
        for (int i = 0; i < size; i++) m[i] = (byte) (random.nextInt(8) == 0 ? 'a' + random.nextInt(26) : words.charAt(i % words.length()));
        return m;
    }

    static void sleepUntil(long nanoTime) throws InterruptedException {
        for (long left = nanoTime - System.nanoTime(); left > 0; left = nanoTime - System.nanoTime()) {
            Thread.sleep(left / 1_000_000, (int) (left % 1_000_000));
        }
    }

    /**
     * This process's CPU time so far: utime + stime of /proc/self/stat, in clock ticks of 1/100 s.
     * Read with a FileInputStream: NIO would allocate a direct buffer, an object the agent tracks.
     */
    static double cpuSeconds() throws IOException {
        String stat;
        try (FileInputStream in = new FileInputStream("/proc/self/stat")) {
            stat = new String(in.readAllBytes(), StandardCharsets.US_ASCII);
        }
        String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return (Long.parseLong(fields[11]) + Long.parseLong(fields[12])) / 100.0;
    }
}
