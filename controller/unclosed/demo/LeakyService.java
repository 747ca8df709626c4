import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;

/**
 * A little service with one native-memory leak, for `unclosed demo`. Request handlers compress
 * and decompress properly (try-with-resources); the exception logger gzips each error report
 * and never closes its GZIPOutputStream, so every failed request leaves a Deflater (about
 * 256 KiB of native zlib memory) for the garbage collector to find. Run: java LeakyService.java
 */
public class LeakyService {
    private static final AtomicInteger requests = new AtomicInteger();

    public static void main(String[] args) {
        ScheduledExecutorService threads = Executors.newScheduledThreadPool(3);
        threads.scheduleAtFixedRate(LeakyService::handleRequest, 0, 10, TimeUnit.MILLISECONDS);
        threads.scheduleAtFixedRate(LeakyService::handleRequest, 5, 10, TimeUnit.MILLISECONDS);
        // Unclosed streams become leaks when the GC reclaims them: collect often, as a busy service would.
        threads.scheduleAtFixedRate(System::gc, 1, 1, TimeUnit.SECONDS);
        System.out.println("LeakyService ready, pid " + ProcessHandle.current().pid());
    }

    /** Serves one request; one in five fails and is logged. */
    static void handleRequest() {
        int n = requests.incrementAndGet();
        try {
            byte[] response = compress(("response " + n + "\n").repeat(100));
            if (!decompress(response).startsWith("response")) throw new IllegalStateException("corrupt response");
            if (n % 5 == 0) throw new IllegalStateException("request " + n + " failed");
        } catch (Exception e) {
            ExceptionLogger.log(e);
        }
    }

    static byte[] compress(String text) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (GZIPOutputStream gzip = new GZIPOutputStream(bytes)) {
            gzip.write(text.getBytes(StandardCharsets.UTF_8));
        }
        return bytes.toByteArray();
    }

    static String decompress(byte[] gzipped) throws IOException {
        try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(gzipped))) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    /** Keeps the last error reports, compressed. */
    static final class ExceptionLogger {
        private static final ConcurrentLinkedDeque<byte[]> recent = new ConcurrentLinkedDeque<>();

        static void log(Exception e) {
            StringWriter report = new StringWriter();
            e.printStackTrace(new PrintWriter(report));
            try {
                ByteArrayOutputStream bytes = new ByteArrayOutputStream();
                GZIPOutputStream gzip = new GZIPOutputStream(bytes); // THE LEAK: finished, never closed
                gzip.write(report.toString().getBytes(StandardCharsets.UTF_8));
                gzip.finish();
                recent.addFirst(bytes.toByteArray());
                if (recent.size() > 100) recent.removeLast();
            } catch (IOException ignored) {
                // a ByteArrayOutputStream does not fail
            }
        }
    }
}
