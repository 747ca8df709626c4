import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.reflect.Field;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * Allocates direct buffers in known places and numbers. Lines marked {@code // site:NAME} are the
 * culprits the tests expect. Commands on stdin, each then printing {@code done}: {@code grow}
 * keeps 4 more buffers of 64 KiB; {@code explicit} allocates 3 of 32 KiB and cleans each at once;
 * {@code dropped} allocates 2 of 1000 bytes and drops them for the GC; {@code views} keeps one
 * buffer and takes slices and duplicates of it (no allocation); {@code keep} keeps 2 of 2 KiB,
 * {@code end} cleans the first of those explicitly and drops the other for the GC. {@code exit} ends.
 */
public class DirectWorkload {
    static final int SIZE = 64 * 1024;
    /** Held on purpose: the buffers that "grow". */
    static final List<ByteBuffer> HELD = new ArrayList<>();
    static final List<ByteBuffer> VIEWS = new ArrayList<>();
    static final List<ByteBuffer> KEPT = new ArrayList<>();

    public static void main(String[] args) throws Exception {
        System.out.println("ready");
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        for (String line; (line = in.readLine()) != null; ) {
            if (line.equals("grow")) grow();
            else if (line.equals("explicit")) explicit();
            else if (line.equals("dropped")) dropped();
            else if (line.equals("views")) views();
            else if (line.equals("keep")) keep();
            else if (line.equals("end")) end();
            else if (line.equals("exit")) return;
            settle();
            System.out.println("done");
        }
    }

    static void grow() {
        for (int i = 0; i < 4; i++) HELD.add(ByteBuffer.allocateDirect(SIZE)); // site:grow
    }

    static void explicit() throws Exception {
        for (int i = 0; i < 3; i++) {
            ByteBuffer buffer = ByteBuffer.allocateDirect(SIZE / 2); // site:explicit
            unsafe().invokeCleaner(buffer); // site:clean
        }
    }

    static void dropped() {
        for (int i = 0; i < 2; i++) ByteBuffer.allocateDirect(1000).put((byte) 1); // site:dropped
    }

    static void views() {
        ByteBuffer buffer = ByteBuffer.allocateDirect(4096); // site:viewed
        HELD.add(buffer);
        VIEWS.add(buffer.slice());
        VIEWS.add(buffer.duplicate());
        VIEWS.add(buffer.asReadOnlyBuffer());
        buffer.position(100);
        VIEWS.add(buffer.slice());
    }

    static void keep() {
        for (int i = 0; i < 2; i++) KEPT.add(ByteBuffer.allocateDirect(2048)); // site:kept
    }

    static void end() throws Exception {
        unsafe().invokeCleaner(KEPT.remove(0)); // site:clean_kept
        KEPT.clear();
    }

    static sun.misc.Unsafe unsafe() throws Exception {
        Field field = sun.misc.Unsafe.class.getDeclaredField("theUnsafe");
        field.setAccessible(true);
        return (sun.misc.Unsafe) field.get(null);
    }

    /** Lets the GC find the dropped buffers and the JVM free their memory. */
    static void settle() throws InterruptedException {
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(100);
        }
    }
}
