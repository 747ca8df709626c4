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
        assertSame(sites.creationSite(a, Kinds.get(Kinds.DEFLATER)), sites.creationSite(b, Kinds.get(Kinds.DEFLATER)));
        assertNotSame(sites.creationSite(a, Kinds.get(Kinds.DEFLATER)), sites.releaseSite(a, Kinds.get(Kinds.DEFLATER)));
    }

    @Test
    public void aFlaterCreatedByItsStreamIsReportedAsTheStream() {
        SiteTable sites = new SiteTable(24, 100);
        Site s = sites.creationSite(new StackTraceElement[] {RECORDER, DEFLATER_INIT,
                frame("java.util.zip.GZIPOutputStream", "<init>", 93), frame("java.util.zip.GZIPOutputStream", "<init>", 112),
                frame("app.Logger", "log", 42), frame("app.Main", "main", 5)}, Kinds.get(Kinds.DEFLATER));
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
                Kinds.get(Kinds.DEFLATER));
        assertEquals("java.util.zip.Deflater", s.kind);
    }

    @Test
    public void zipFilePoolsAreNotTracked() {
        SiteTable sites = new SiteTable(24, 100);
        Site s = sites.creationSite(new StackTraceElement[] {RECORDER, frame("java.util.zip.Inflater", "<init>", 1),
                frame("java.util.zip.ZipFile$CleanableResource", "getInflater", 2), frame("app.Main", "main", 5)},
                Kinds.get(Kinds.INFLATER));
        assertTrue(s.pooled);
        assertTrue(sites.creationSites().isEmpty());
    }

    @Test
    public void stacksPastTheCapShareAnOverflowSite() {
        SiteTable sites = new SiteTable(24, 2);
        for (int line = 1; line <= 5; line++) {
            sites.creationSite(new StackTraceElement[] {DEFLATER_INIT, frame("app.Main", "main", line)}, Kinds.get(Kinds.DEFLATER));
        }
        assertEquals(3, sites.creationSites().size());
        assertEquals(3, sites.dropped());
    }

    @Test
    public void aRulesLibraryIsNeverTheCulprit() {
        StackTraceElement[] stack = {RECORDER, frame("org.h2.jdbc.JdbcConnection", "<init>", 1), frame("org.h2.Driver", "connect", 2),
            frame("java.sql.DriverManager", "getConnection", 3), frame("app.Main", "main", 4)};
        SiteTable sites = new SiteTable(24, 100);
        Kind skipping = Kinds.get(Kinds.register("org.h2.jdbc.JdbcConnection", "jdbc", 0, new String[] {"org.h2."}));
        assertEquals("app.Main.main(Main.java:4)", sites.creationSite(stack, skipping).culprit);
        Kind plain = Kinds.get(Kinds.register("org.h2.jdbc.JdbcConnection", "jdbc", 0, null));
        assertEquals("org.h2.Driver.connect(Driver.java:2)", sites.creationSite(stack, plain).culprit);
    }

    @Test
    public void streamsOfOneStackAreToldApartByTheirStages() {
        StackTraceElement[] stack = {RECORDER, frame("akka.stream.impl.fusing.GraphInterpreterShell", "logics_$eq", 1),
            frame("akka.stream.javadsl.RunnableGraph", "run", 2), frame("app.Streams", "run", 3)};
        SiteTable sites = new SiteTable(24, 100);
        Kind stream = Kinds.get(Kinds.STREAM);
        Site a = sites.creationSite(stack, stream, "stages: ActorRefSource", "akka.stream.Source.actorRef");
        Site b = sites.creationSite(stack.clone(), stream, "stages: QueueSource", "akka.stream.Source.queue");
        assertNotSame(a, b);
        assertSame(a, sites.creationSite(stack.clone(), stream, "stages: ActorRefSource", "akka.stream.Source.actorRef"));
        assertEquals("akka.stream.Source.queue", b.kind);
        assertEquals("stages: QueueSource", b.detail);
        assertEquals("actor", b.family);
        assertEquals("app.Streams.run(Streams.java:3)", b.culprit);
    }

    @Test
    public void keepsOnlyDepthFrames() {
        SiteTable sites = new SiteTable(2, 100);
        Site s = sites.creationSite(new StackTraceElement[] {RECORDER, DEFLATER_INIT, frame("app.A", "a", 1), frame("app.B", "b", 2)},
                Kinds.get(Kinds.DEFLATER));
        assertEquals(2, s.frames.length);
    }
}
