import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.util.ArrayList;
import java.util.List;

/**
 * Opens H2 JDBC connections and file channels, the resources of tests/programs/rules.toml, in
 * known places and numbers. Lines marked {@code // site:NAME} are the culprits the tests expect.
 * Commands on stdin, each then printing {@code done}: {@code jdbc}: 2 connections kept, 3 closed,
 * 1 dropped unclosed; {@code files}: 2 channels kept, 3 closed, 1 dropped unclosed. {@code exit}
 * ends.
 */
public class RulesWorkload {
    /** Held on purpose: "held" findings. */
    static final List<Object> HELD = new ArrayList<>();
    static Path file;

    public static void main(String[] args) throws Exception {
        file = Files.createTempFile("rules-workload", ".txt");
        file.toFile().deleteOnExit();
        // Loads H2's and the channel's classes: an agent attached later retransforms them.
        DriverManager.getConnection("jdbc:h2:mem:warm").close();
        FileChannel.open(file).close();
        System.out.println("ready");
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        for (String line; (line = in.readLine()) != null; ) {
            if (line.equals("jdbc")) jdbc();
            else if (line.equals("files")) files();
            else if (line.equals("exit")) return;
            settle();
            System.out.println("done");
        }
    }

    static void jdbc() throws Exception {
        for (int i = 0; i < 2; i++) HELD.add(DriverManager.getConnection("jdbc:h2:mem:kept" + i)); // site:jdbc_held
        for (int i = 0; i < 3; i++) {
            try (Connection c = DriverManager.getConnection("jdbc:h2:mem:closed")) { // site:jdbc_closed
                c.createStatement().execute("SELECT 1");
            }
        }
        DriverManager.getConnection("jdbc:h2:mem:dropped").createStatement(); // site:jdbc_dropped
    }

    static void files() throws Exception {
        for (int i = 0; i < 2; i++) HELD.add(FileChannel.open(file)); // site:file_held
        for (int i = 0; i < 3; i++) {
            try (FileChannel channel = FileChannel.open(file)) { // site:file_closed
                channel.size();
            }
        }
        FileChannel.open(file).size(); // site:file_dropped
    }

    /** Lets the GC reclaim what was dropped, so that leaks are seen now. */
    static void settle() throws InterruptedException {
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(100);
        }
    }
}
