import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.Deflater;
import java.util.zip.Inflater;

/**
 * Holds {@code -Ddeflaters=N} Deflaters and {@code -Dinflaters=N} Inflaters (default 0), never
 * ended, from its start: what a class histogram counts. Prints {@code ready}, then runs until
 * stdin says {@code exit} or closes.
 */
public class HeldZlibWorkload {
    static final List<Object> HELD = new ArrayList<>();

    public static void main(String[] args) throws Exception {
        for (int i = Integer.getInteger("deflaters", 0); i > 0; i--) HELD.add(new Deflater());
        for (int i = Integer.getInteger("inflaters", 0); i > 0; i--) HELD.add(new Inflater());
        System.out.println("ready");
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        String line;
        do {
            line = in.readLine();
        } while (line != null && !line.equals("exit"));
    }
}
