import static org.mockito.ArgumentMatchers.any;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.never;
import static org.mockito.Mockito.spy;
import static org.mockito.Mockito.verify;
import static org.mockito.Mockito.when;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.zip.Deflater;
import java.util.zip.Inflater;

/**
 * Mockito's inline mocks and spies of Inflater and Deflater. A spy is a second object, made
 * without a constructor, into which Mockito copies the real object's fields: its native state
 * among them, which both then share. Commands on stdin: {@code mocks} runs the three cases below,
 * drops what they made, lets the GC reclaim it, and prints {@code done} (or {@code failed: ...}
 * when a Mockito check or one of its own fails); {@code exit} ends. Lines marked
 * {@code // site:NAME} create what the tests count.
 */
public class MockitoWorkload {
    static final byte[] TEXT = "spied upon".getBytes(StandardCharsets.UTF_8);

    public static void main(String[] args) throws Exception {
        System.out.println("ready");
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        for (String line; (line = in.readLine()) != null; ) {
            if (line.equals("mocks")) {
                try {
                    spyEnded();
                    spyOfARealObjectEndedByItself();
                    mockDeflater();
                    settle();
                    System.out.println("done");
                } catch (Throwable t) {
                    System.out.println("failed: " + t.toString().replace('\n', ' '));
                }
            } else if (line.equals("exit")) {
                return;
            }
        }
    }

    /** The spy is ended: that ends the real object's native state too. */
    static void spyEnded() throws Exception {
        Inflater real = new Inflater(); // site:spy_ended
        Inflater spy = spy(real);
        spy.setInput(deflate(TEXT));
        byte[] out = new byte[64];
        int n = spy.inflate(out);
        check(new String(out, 0, n, StandardCharsets.UTF_8).equals("spied upon"), "the spy inflates");
        spy.end();
        verify(spy).inflate(out);
        verify(spy).end();
    }

    /** The real object is ended, its spy never. */
    static void spyOfARealObjectEndedByItself() {
        Inflater real = new Inflater(); // site:real_ended
        Inflater spy = spy(real);
        check(spy.getRemaining() == 0, "the spy answers");
        real.end();
        verify(spy).getRemaining();
        verify(spy, never()).end();
    }

    /** A mock has no native state: nothing to count. */
    static void mockDeflater() {
        Deflater mock = mock(Deflater.class); // site:mock
        when(mock.deflate(any(byte[].class))).thenReturn(42);
        check(mock.deflate(new byte[8]) == 42, "the mock answers");
        mock.end();
        verify(mock).end();
    }

    static byte[] deflate(byte[] data) {
        Deflater deflater = new Deflater(); // site:real_deflater
        try {
            deflater.setInput(data);
            deflater.finish();
            byte[] out = new byte[256];
            return java.util.Arrays.copyOf(out, deflater.deflate(out));
        } finally {
            deflater.end();
        }
    }

    static void check(boolean ok, String what) {
        if (!ok) throw new AssertionError(what);
    }

    /** Lets the GC reclaim what was dropped, so that a leak would be seen now. */
    static void settle() throws InterruptedException {
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(100);
        }
    }
}
