import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.Inflater;

/**
 * Targets for the agent's own costs, one per mode (bench/run.py drives them):
 * <ul>
 * <li>{@code held N}: holds N Inflaters, then prints the heap used after a GC
 *     ({@code RESULT heap_used=B}); with and without the agent, the difference is the agent's.
 * <li>{@code churn N}: creates and ends N Inflaters, prints {@code ready}, then waits for a line
 *     on stdin (the events wait in the agent for a drain).
 * <li>{@code ticking}: creates an Inflater every millisecond forever, and loads many classes
 *     first ({@code classes}: how many it loaded); prints the longest gap between its ticks
 *     whenever a line arrives on stdin ({@code RESULT max_gap_ms=N}), which shows a stop
 *     while the agent retransforms.
 * </ul>
 */
public class AgentProbe {
    static final List<Object> HELD = new ArrayList<>();
    static volatile long maxGapNanos;

    public static void main(String[] args) throws Exception {
        switch (args[0]) {
            case "held": {
                int n = Integer.parseInt(args[1]);
                for (int i = 0; i < n; i++) HELD.add(new Inflater());
                for (int i = 0; i < 3; i++) System.gc();
                Thread.sleep(500);
                System.gc();
                long used = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
                System.out.println("RESULT heap_used=" + used + " held=" + HELD.size());
                break;
            }
            case "churn": {
                int n = Integer.parseInt(args[1]);
                for (int i = 0; i < n; i++) new Inflater().end();
                System.out.println("ready");
                System.in.read();
                break;
            }
            case "ticking": {
                System.out.println("classes " + loadClasses());
                Thread ticker = new Thread(AgentProbe::tick);
                ticker.setDaemon(true);
                ticker.start();
                System.out.println("ready");
                java.io.BufferedReader in = new java.io.BufferedReader(new java.io.InputStreamReader(System.in));
                while (in.readLine() != null) {
                    System.out.println("RESULT max_gap_ms=" + maxGapNanos / 1_000_000.0);
                    maxGapNanos = 0;
                }
                break;
            }
            default:
                throw new IllegalArgumentException(args[0]);
        }
    }

    static void tick() {
        long last = System.nanoTime();
        while (true) {
            new Inflater().end();
            try {
                Thread.sleep(1);
            } catch (InterruptedException e) {
                return;
            }
            long now = System.nanoTime();
            maxGapNanos = Math.max(maxGapNanos, now - last);
            last = now;
        }
    }

    /** Loads every class of a few JDK modules, as a large application would have loaded its own. */
    static int loadClasses() throws Exception {
        int loaded = 0;
        java.nio.file.FileSystem jrt = java.nio.file.FileSystems.getFileSystem(java.net.URI.create("jrt:/"));
        for (String module : new String[] {"java.base", "java.desktop", "java.xml", "java.sql", "jdk.compiler"}) {
            try (java.util.stream.Stream<java.nio.file.Path> files = java.nio.file.Files.walk(jrt.getPath("/modules/" + module))) {
                for (java.nio.file.Path p : (Iterable<java.nio.file.Path>) files::iterator) {
                    String name = p.toString();
                    if (!name.endsWith(".class") || name.endsWith("module-info.class")) continue;
                    String cls = name.substring(("/modules/" + module + "/").length(), name.length() - 6).replace('/', '.');
                    try {
                        Class.forName(cls, false, ClassLoader.getSystemClassLoader());
                        loaded++;
                    } catch (Throwable ignored) {
                        // not loadable from here (non-exported, or needs a display): skip
                    }
                }
            }
        }
        return loaded;
    }
}
