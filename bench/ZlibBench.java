import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.LongAdder;
import java.util.zip.CRC32;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;

/**
 * One benchmark workload in one JVM: warms up, then counts operations for a fixed time and
 * prints {@code RESULT ops_per_s=N}. bench/run.py runs it with and without the agent.
 *
 * <p>Usage: {@code java ZlibBench WORKLOAD WARMUP_S MEASURE_S THREADS}; workloads: gzip-1k,
 * gzip-64k, gzip-1k-leak1pct, direct-churn, no-zlib (CRC32 only: creates nothing tracked).
 */
public class ZlibBench {
    /** Keeps the JIT from dropping work whose result is unused. */
    static volatile long sink;

    public static void main(String[] args) throws Exception {
        String workload = args[0];
        long warmupMs = (long) (Double.parseDouble(args[1]) * 1000);
        long measureMs = (long) (Double.parseDouble(args[2]) * 1000);
        int threads = Integer.parseInt(args[3]);
        LongAdder ops = new LongAdder();
        List<Thread> workers = new ArrayList<>();
        long start = System.nanoTime();
        long measureFrom = start + warmupMs * 1_000_000L;
        long end = measureFrom + measureMs * 1_000_000L;
        for (int t = 0; t < threads; t++) {
            Thread worker = new Thread(() -> {
                Random random = new Random(42);
                byte[] message = message(random, workload.contains("64k") ? 65536 : 1024);
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
        for (Thread worker : workers) worker.join();
        System.out.println("RESULT ops_per_s=" + (long) (ops.sum() / (measureMs / 1000.0)));
    }

    static void operation(String workload, byte[] message, long i) throws IOException {
        switch (workload) {
            case "gzip-1k":
            case "gzip-64k":
                roundTrip(message, true);
                break;
            case "gzip-1k-leak1pct":
                roundTrip(message, i % 100 != 0);
                break;
            case "direct-churn":
                ByteBuffer buffer = ByteBuffer.allocateDirect(4096);
                buffer.put(message, 0, Math.min(message.length, 4096));
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
}
