import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.Deflater;
import java.util.zip.DeflaterOutputStream;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;
import java.util.zip.Inflater;
import java.util.zip.InflaterInputStream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipInputStream;
import java.util.zip.ZipOutputStream;

/**
 * Creates zlib objects in known places and numbers. Lines marked {@code // site:NAME} are the
 * culprits the tests expect; the counts are in the tests. Commands on stdin: {@code leaky},
 * {@code clean} or {@code new-leak} runs that workload (followed by a count, that many times), then
 * prints {@code done}; {@code exit} ends.
 */
public class ZlibWorkload {
    /** Held on purpose: these are "still held" findings. */
    static final List<Object> HELD = new ArrayList<>();

    public static void main(String[] args) throws Exception {
        System.out.println("ready");
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        for (String line; (line = in.readLine()) != null; ) {
            String[] words = line.split(" ");
            int times = words.length > 1 ? Integer.parseInt(words[1]) : 1;
            for (int i = 0; i < times; i++) {
                if (words[0].equals("leaky")) leaky();
                else if (words[0].equals("clean")) clean();
                else if (words[0].equals("new-leak")) leakAtANewSite();
                else if (words[0].equals("exit")) return;
            }
            settle();
            System.out.println("done");
        }
    }

    static void leaky() throws IOException {
        for (int i = 0; i < 3; i++) leakGzipOutput();
        for (int i = 0; i < 4; i++) leakGzipInput();
        for (int i = 0; i < 2; i++) leakDeflater();
        for (int i = 0; i < 2; i++) leakCallerInflater();
        leakInflaterStream();
        leakDeflaterStream();
        for (int i = 0; i < 5; i++) holdDeflater();
        holdGzipOutput();
        for (int i = 0; i < 6; i++) roundTrip();
    }

    static void leakGzipOutput() throws IOException {
        GZIPOutputStream gz = new GZIPOutputStream(new ByteArrayOutputStream()); // site:gzip_out
        gz.write("an error report".getBytes());
        gz.finish(); // finished, never closed: the Deflater is never ended
    }

    static void leakGzipInput() throws IOException {
        GZIPInputStream gz = new GZIPInputStream(new ByteArrayInputStream(gzip("x"))); // site:gzip_in
        gz.read();
    }

    static void leakDeflater() {
        Deflater d = new Deflater(); // site:deflater
        d.setInput(new byte[10]);
    }

    /** The stream does not end a flater it was given: the caller must. */
    static void leakCallerInflater() throws IOException {
        Inflater inf = new Inflater(); // site:caller_inflater
        InflaterInputStream in = new InflaterInputStream(new ByteArrayInputStream(deflate("y")), inf);
        in.read();
        in.close();
    }

    static void leakInflaterStream() throws IOException {
        InflaterInputStream in = new InflaterInputStream(new ByteArrayInputStream(deflate("z"))); // site:inflater_stream
        in.read();
    }

    static void leakDeflaterStream() throws IOException {
        DeflaterOutputStream out = new DeflaterOutputStream(new ByteArrayOutputStream()); // site:deflater_stream
        out.write(1);
    }

    /** A leak that an older baseline does not know. */
    static void leakAtANewSite() {
        new Deflater().setLevel(1); // site:new_site
    }

    static void holdDeflater() {
        HELD.add(new Deflater(Deflater.BEST_SPEED)); // site:held_deflater
    }

    static void holdGzipOutput() throws IOException {
        HELD.add(new GZIPOutputStream(new ByteArrayOutputStream())); // site:held_gzip_out
    }

    static void roundTrip() throws IOException {
        byte[] data = gzip("properly closed"); // site:round_trip_out
        try (GZIPInputStream in = new GZIPInputStream(new ByteArrayInputStream(data))) { // site:round_trip_in
            while (in.read() >= 0) { }
        }
    }

    /** Every zlib object is released, including ones a pool owns and ones given to streams. */
    static void clean() throws IOException {
        for (int i = 0; i < 5; i++) roundTrip();
        Deflater d = new Deflater();
        d.end();
        d.end(); // idempotent: released once
        Inflater inf = new Inflater();
        try (InflaterInputStream in = new InflaterInputStream(new ByteArrayInputStream(deflate("w")), inf)) {
            in.read();
        } finally {
            inf.end();
        }
        File zip = File.createTempFile("unclosed", ".zip");
        try (ZipOutputStream out = new ZipOutputStream(new java.io.FileOutputStream(zip))) {
            out.putNextEntry(new ZipEntry("a.txt"));
            out.write("zip entry".getBytes());
        }
        try (ZipInputStream in = new ZipInputStream(new java.io.FileInputStream(zip))) {
            while (in.getNextEntry() != null) { }
        }
        // ZipFile keeps Inflaters in a pool and ends them itself: not tracked, not a leak.
        try (ZipFile zf = new ZipFile(zip)) {
            zf.getInputStream(zf.getEntry("a.txt")).read();
        }
        zip.delete();
    }

    static byte[] gzip(String text) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (GZIPOutputStream out = new GZIPOutputStream(bytes)) {
            out.write(text.getBytes());
        }
        return bytes.toByteArray();
    }

    static byte[] deflate(String text) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DeflaterOutputStream out = new DeflaterOutputStream(bytes)) {
            out.write(text.getBytes());
        }
        return bytes.toByteArray();
    }

    /** Lets the GC reclaim what the workload dropped, so that leaks are seen now. */
    static void settle() throws InterruptedException {
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(100);
        }
    }
}
