package dev.unclosed.inventory;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import dev.unclosed.boot.Recorder;
import dev.unclosed.boot.Site;
import dev.unclosed.boot.SiteTotals;
import java.io.File;
import java.io.InputStream;
import java.lang.reflect.Field;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.List;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.zip.Deflater;
import java.util.zip.Inflater;
import java.util.zip.InflaterInputStream;
import java.util.zip.ZipEntry;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;

/**
 * The walks of the JDK's lists in this JVM (the build opens java.base to the tests as the agent
 * opens it to itself). Other objects of this JVM are found too: what is checked is that ours
 * are adopted, by what their release finds them, and that ZipFile's Inflaters are not.
 */
public class JdkWalksTest {
    @Before
    public void start() {
        assertTrue(Recorder.start(24, 1000, 100, 100_000, 1));
        Recorder.trackingActive();
    }

    @After
    public void stop() {
        Recorder.stop();
    }

    private static Budget budget() {
        return new Budget(10_000_000, 60_000);
    }

    private static SiteTotals preexisting(String kind) {
        for (SiteTotals t : Recorder.totals()) {
            if (t.site.role() == Site.PREEXISTING && t.site.kind().equals(kind)) return t;
        }
        throw new AssertionError("no site of " + kind + " objects found at attach");
    }

    private static Object read(Class<?> type, String name, Object owner) throws Exception {
        Field f = type.getDeclaredField(name);
        f.setAccessible(true);
        return f.get(owner);
    }

    private static Object state(Object flater) throws Exception {
        return read(flater.getClass(), "zsRef", flater);
    }

    @Test
    public void flatersAreAdoptedByTheirNativeStateAndZipFilesOwnAreLeftOut() throws Exception {
        List<Deflater> deflaters = new ArrayList<>();
        for (int i = 0; i < 3; i++) deflaters.add(new Deflater());
        Inflater inflater = new Inflater();
        File jarPath = new File(Test.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        try (JarFile jar = new JarFile(jarPath)) {
            List<JarEntry> deflated = new ArrayList<>();
            for (Enumeration<JarEntry> e = jar.entries(); e.hasMoreElements() && deflated.size() < 2; ) {
                JarEntry entry = e.nextElement();
                if (entry.getMethod() == ZipEntry.DEFLATED) deflated.add(entry);
            }
            InputStream lent = jar.getInputStream(deflated.get(0)); // its Inflater is lent to the stream
            lent.read();
            try (InputStream used = jar.getInputStream(deflated.get(1))) { // its Inflater goes back to the pool
                used.readAllBytes();
            }
            ZlibObjects zlib = new ZlibObjects();
            zlib.adopt(budget());
            assertTrue(zlib.deflaters >= 3 && zlib.inflaters >= 1 && zlib.zipPool >= 2);

            SiteTotals deflatersBefore = preexisting("java.util.zip.Deflater");
            for (Deflater d : deflaters) Recorder.closeZlib(d, state(d)); // what the advice on end() calls
            assertEquals(deflatersBefore.released + 3, preexisting("java.util.zip.Deflater").released);

            SiteTotals inflatersBefore = preexisting("java.util.zip.Inflater");
            Object lentInflater = read(InflaterInputStream.class, "inf", lent);
            Recorder.closeZlib(lentInflater, state(lentInflater));
            assertEquals(inflatersBefore.released, preexisting("java.util.zip.Inflater").released);
            Recorder.closeZlib(inflater, state(inflater));
            assertEquals(inflatersBefore.released + 1, preexisting("java.util.zip.Inflater").released);
            lent.close();
        } finally {
            for (Deflater d : deflaters) d.end();
            inflater.end();
        }
    }

    @Test
    public void directBuffersAreAdoptedByTheirDeallocatorWithTheirCapacity() throws Exception {
        ByteBuffer small = ByteBuffer.allocateDirect(12_345);
        ByteBuffer large = ByteBuffer.allocateDirect(54_321);
        DirectBuffers direct = new DirectBuffers();
        List<Inventory.Note> notes = new ArrayList<>();
        direct.adopt(budget(), notes, "direct");
        assertTrue(notes.isEmpty());
        assertTrue(direct.count >= 2 && direct.bytes >= 66_666);

        SiteTotals before = preexisting("java.nio.DirectByteBuffer");
        for (ByteBuffer b : new ByteBuffer[] {small, large}) {
            Object cleaner = read(b.getClass(), "cleaner", b);
            Recorder.close(read(cleaner.getClass(), "thunk", cleaner)); // what the advice on Deallocator.run() calls
        }
        SiteTotals after = preexisting("java.nio.DirectByteBuffer");
        assertEquals(before.released + 2, after.released);
        assertEquals(before.bytesHeld - 66_666, after.bytesHeld);
    }
}
