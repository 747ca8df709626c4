import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.zip.Inflater;

/**
 * A JVM for bench/run.py to attach to, record or weigh: {@code java AgentProbe HELD THREADS}.
 * Holds HELD Inflaters, starts THREADS threads that do 1 KiB GZIP round trips without pause (a
 * busy JVM; 0: an idle one), runs a GC and prints the heap then used
 * ({@code RESULT heap_used=B}; with and without the agent, the difference is the agent's) and
 * {@code ready}; then lives until its standard input closes.
 */
public class AgentProbe {
    static final List<Inflater> HELD = new ArrayList<>();

    public static void main(String[] args) throws Exception {
        int held = Integer.parseInt(args[0]);
        int threads = Integer.parseInt(args[1]);
        for (int i = 0; i < held; i++) HELD.add(new Inflater());
        for (int t = 0; t < threads; t++) {
            Thread busy = new Thread(AgentProbe::compress);
            busy.setDaemon(true);
            busy.start();
        }
        for (int i = 0; i < 3; i++) System.gc();
        Thread.sleep(500);
        System.gc();
        long used = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
        System.out.println("RESULT heap_used=" + used + " held=" + HELD.size());
        System.out.println("ready");
        while (System.in.read() >= 0) { }
    }

    static void compress() {
        byte[] message = ZlibBench.message(new Random(42), 1024);
        try {
            while (true) ZlibBench.roundTrip(message, true);
        } catch (IOException e) {
            throw new RuntimeException(e);
        }
    }
}
