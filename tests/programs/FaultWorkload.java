import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.Deflater;

/**
 * What the fault tests do to a JVM, on stdin, each command then printing {@code done}:
 * {@code leak N} drops N Deflaters without ending them (at the line marked site:leak);
 * {@code hold N} keeps N; {@code busy N} starts N threads that create and end Deflaters without
 * a pause, noting when each was created; {@code quiet} stops them and prints the count;
 * {@code created-since MS} prints how many they created at or after MS (epoch ms);
 * {@code exit} returns at once (the JVM exits); {@code forever} never answers again.
 */
public class FaultWorkload {
    static final List<Deflater> HELD = new ArrayList<>();
    static final List<Thread> BUSY = new ArrayList<>();
    static final List<long[]> CREATED = new ArrayList<>();
    static volatile boolean busy;

    public static void main(String[] args) throws Exception {
        System.out.println("ready");
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        for (String line; (line = in.readLine()) != null; ) {
            String[] words = line.split(" ");
            long n = words.length > 1 ? Long.parseLong(words[1]) : 1;
            switch (words[0]) {
                case "leak": for (int i = 0; i < n; i++) leak(); break;
                case "hold": for (int i = 0; i < n; i++) HELD.add(new Deflater()); break; // site:hold
                case "busy": startBusy((int) n); break;
                case "quiet": System.out.println(stopBusy()); break;
                case "created-since": System.out.println(createdSince(n)); break;
                case "exit": return;
                case "forever": Thread.sleep(Long.MAX_VALUE); break;
                default: throw new IllegalArgumentException(line);
            }
            System.out.println("done");
        }
    }

    static void leak() {
        new Deflater(); // site:leak
    }

    static void startBusy(int threads) {
        busy = true;
        for (int t = 0; t < threads; t++) {
            long[][] times = {new long[1 << 16]};
            int[] count = {0};
            Thread thread = new Thread(() -> {
                while (busy) {
                    long now = System.currentTimeMillis();
                    new Deflater().end(); // site:busy
                    if (count[0] == times[0].length) times[0] = Arrays.copyOf(times[0], count[0] * 2);
                    times[0][count[0]++] = now;
                }
                synchronized (CREATED) {
                    CREATED.add(Arrays.copyOf(times[0], count[0]));
                }
            });
            BUSY.add(thread);
            thread.start();
        }
    }

    static long stopBusy() throws InterruptedException {
        busy = false;
        for (Thread t : BUSY) t.join();
        long all = 0;
        for (long[] times : CREATED) all += times.length;
        return all;
    }

    /** Created at or after `since`: the time is taken before the constructor, so these began after it. */
    static long createdSince(long since) {
        long n = 0;
        for (long[] times : CREATED) {
            for (long t : times) if (t >= since) n++;
        }
        return n;
    }
}
