package dev.unclosed.boot;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotSame;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertTrue;

import org.junit.Test;

public class SiteTableTest {
    private static StackTraceElement frame(String cls, String method, int line) {
        return new StackTraceElement(cls, method, cls.substring(cls.lastIndexOf('.') + 1) + ".java", line);
    }

    private static final StackTraceElement RECORDER = frame("dev.unclosed.boot.Recorder", "track", 10);
    private static final StackTraceElement DEFLATER_INIT = frame("java.util.zip.Deflater", "<init>", 200);

    @Test
    public void sameStackIsOneSite() {
        SiteTable sites = new SiteTable(24, 100);
        StackTraceElement[] a = {RECORDER, DEFLATER_INIT, frame("app.Logger", "log", 42)};
        StackTraceElement[] b = {RECORDER, DEFLATER_INIT, frame("app.Logger", "log", 42)};
        assertSame(sites.creationSite(a, Kinds.ALL[Kinds.DEFLATER]), sites.creationSite(b, Kinds.ALL[Kinds.DEFLATER]));
        assertNotSame(sites.creationSite(a, Kinds.ALL[Kinds.DEFLATER]), sites.releaseSite(a, Kinds.ALL[Kinds.DEFLATER]));
    }

    @Test
    public void aFlaterCreatedByItsStreamIsReportedAsTheStream() {
        SiteTable sites = new SiteTable(24, 100);
        Site s = sites.creationSite(new StackTraceElement[] {RECORDER, DEFLATER_INIT,
                frame("java.util.zip.GZIPOutputStream", "<init>", 93), frame("java.util.zip.GZIPOutputStream", "<init>", 112),
                frame("app.Logger", "log", 42), frame("app.Main", "main", 5)}, Kinds.ALL[Kinds.DEFLATER]);
        assertEquals("java.util.zip.GZIPOutputStream", s.kind);
        assertEquals("zlib", s.family);
        assertEquals("app.Logger.log(Logger.java:42)", s.culprit);
        assertEquals("java.util.zip.Deflater.<init>(Deflater.java:200)", s.frames[0]);
        assertFalse(s.pooled);
    }

    @Test
    public void aFlaterGivenToAStreamIsReportedOnItsOwn() {
        SiteTable sites = new SiteTable(24, 100);
        Site s = sites.creationSite(new StackTraceElement[] {RECORDER, DEFLATER_INIT, frame("app.Logger", "log", 41)},
                Kinds.ALL[Kinds.DEFLATER]);
        assertEquals("java.util.zip.Deflater", s.kind);
    }

    @Test
    public void zipFilePoolsAreNotTracked() {
        SiteTable sites = new SiteTable(24, 100);
        Site s = sites.creationSite(new StackTraceElement[] {RECORDER, frame("java.util.zip.Inflater", "<init>", 1),
                frame("java.util.zip.ZipFile$CleanableResource", "getInflater", 2), frame("app.Main", "main", 5)},
                Kinds.ALL[Kinds.INFLATER]);
        assertTrue(s.pooled);
        assertTrue(sites.creationSites().isEmpty());
    }

    @Test
    public void stacksPastTheCapShareAnOverflowSite() {
        SiteTable sites = new SiteTable(24, 2);
        for (int line = 1; line <= 5; line++) {
            sites.creationSite(new StackTraceElement[] {DEFLATER_INIT, frame("app.Main", "main", line)}, Kinds.ALL[Kinds.DEFLATER]);
        }
        assertEquals(3, sites.creationSites().size());
        assertEquals(3, sites.dropped());
    }

    @Test
    public void keepsOnlyDepthFrames() {
        SiteTable sites = new SiteTable(2, 100);
        Site s = sites.creationSite(new StackTraceElement[] {RECORDER, DEFLATER_INIT, frame("app.A", "a", 1), frame("app.B", "b", 2)},
                Kinds.ALL[Kinds.DEFLATER]);
        assertEquals(2, s.frames.length);
    }
}
