import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.zip.Deflater;
import javax.management.MBeanAttributeInfo;
import javax.management.MBeanServer;
import javax.management.ObjectName;

/**
 * Deflaters in known numbers, for the metrics tests. Commands on stdin, each followed by
 * {@code done}: {@code leak N} drops N Deflaters unended (then lets the GC reclaim them),
 * {@code hold N} keeps N open, {@code close N} ends N; {@code mbeans} prints each MBean of
 * {@code dev.unclosed} on a line, {@code NAME ATTRIBUTE=VALUE ...} (creating the platform MBean
 * server, as an application reading its MBeans does); {@code exit} ends.
 */
public class MetricsWorkload {
    static final List<Deflater> HELD = new ArrayList<>();

    public static void main(String[] args) throws Exception {
        System.out.println("ready");
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        for (String line; (line = in.readLine()) != null; ) {
            String[] words = line.split(" ");
            int times = words.length > 1 ? Integer.parseInt(words[1]) : 0;
            switch (words[0]) {
                case "leak":
                    for (int i = 0; i < times; i++) new Deflater().setInput(new byte[10]);
                    settle();
                    break;
                case "hold":
                    for (int i = 0; i < times; i++) HELD.add(new Deflater());
                    break;
                case "close":
                    for (int i = 0; i < times; i++) new Deflater().end();
                    break;
                case "mbeans":
                    printMBeans();
                    break;
                case "exit":
                    return;
                default:
                    System.out.println("unknown command " + words[0]);
            }
            System.out.println("done");
        }
    }

    static void printMBeans() throws Exception {
        MBeanServer server = ManagementFactory.getPlatformMBeanServer();
        for (ObjectName name : new TreeSet<>(server.queryNames(new ObjectName("dev.unclosed:*"), null))) {
            StringBuilder line = new StringBuilder(name.toString());
            for (MBeanAttributeInfo a : server.getMBeanInfo(name).getAttributes()) {
                line.append(' ').append(a.getName()).append('=').append(server.getAttribute(name, a.getName()));
            }
            System.out.println(line);
        }
    }

    /** Lets the GC reclaim what was dropped, so that the leaks are seen now. */
    static void settle() throws InterruptedException {
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(100);
        }
    }
}
