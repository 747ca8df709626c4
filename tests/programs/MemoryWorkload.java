import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.zip.Deflater;

/**
 * Holds native memory of known kinds and sizes, for `unclosed explain`. Commands on stdin, each
 * answered with {@code done}:
 * <ul>
 * <li>{@code direct MIB}: allocates MIB direct buffers of 1 MiB (zeroed, so resident) and holds them;</li>
 * <li>{@code deflaters N}: creates N Deflaters, compresses 128 KiB with each (so that zlib's
 *     window, hash chains and pending buffer are touched) and holds them, never ended;</li>
 * <li>{@code arenas THREADS N}: THREADS threads at once each create and use N Deflaters, end
 *     seven in eight and hold the rest, then exit: glibc gives each thread a malloc arena, and
 *     the freed memory between the held Deflaters stays in it;</li>
 * <li>{@code release}: ends and drops everything held, then runs the GC;</li>
 * <li>{@code exit}.</li>
 * </ul>
 */
public class MemoryWorkload {
    static final List<ByteBuffer> BUFFERS = new ArrayList<>();
    static final List<Deflater> DEFLATERS = new ArrayList<>();
    static final byte[] INPUT = input(128 * 1024);

    public static void main(String[] args) throws Exception {
        System.out.println("ready");
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        for (String line; (line = in.readLine()) != null; ) {
            String[] words = line.trim().split("\\s+");
            switch (words[0]) {
                case "direct": direct(Integer.parseInt(words[1])); break;
                case "deflaters": deflaters(Integer.parseInt(words[1])); break;
                case "arenas": arenas(Integer.parseInt(words[1]), Integer.parseInt(words[2])); break;
                case "release": release(); break;
                case "exit": return;
                default: System.out.println("unknown command " + words[0]); continue;
            }
            System.out.println("done");
        }
    }

    static void direct(int mib) {
        for (int i = 0; i < mib; i++) BUFFERS.add(ByteBuffer.allocateDirect(1 << 20));
    }

    static void deflaters(int n) {
        for (int i = 0; i < n; i++) DEFLATERS.add(used(new Deflater()));
    }

    static void arenas(int threads, int n) throws InterruptedException {
        CountDownLatch start = new CountDownLatch(1);
        List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            Thread worker = new Thread(() -> {
                try {
                    start.await();
                } catch (InterruptedException e) {
                    return;
                }
                List<Deflater> mine = new ArrayList<>();
                for (int i = 0; i < n; i++) mine.add(used(new Deflater()));
                for (int i = 0; i < mine.size(); i++) {
                    if (i % 8 == 0) {
                        synchronized (DEFLATERS) {
                            DEFLATERS.add(mine.get(i));
                        }
                    } else {
                        mine.get(i).end();
                    }
                }
            }, "arena-" + t);
            worker.start();
            workers.add(worker);
        }
        start.countDown();
        for (Thread worker : workers) worker.join();
    }

    static void release() {
        synchronized (DEFLATERS) {
            for (Deflater d : DEFLATERS) d.end();
            DEFLATERS.clear();
        }
        BUFFERS.clear();
        System.gc();
    }

    static Deflater used(Deflater d) {
        byte[] out = new byte[64 * 1024];
        d.setInput(INPUT);
        while (!d.needsInput()) d.deflate(out, 0, out.length, Deflater.SYNC_FLUSH);
        return d;
    }

    /** Text-like bytes: compressible, with matches to find, so every zlib table is used. */
    static byte[] input(int size) {
        Random random = new Random(42);
        byte[] b = new byte[size];
        for (int i = 0; i < size; i++) b[i] = (byte) ('a' + random.nextInt(random.nextInt(3) == 0 ? 26 : 4));
        return b;
    }
}
