package dev.unclosed.boot;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotSame;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertTrue;

import java.util.Arrays;
import org.junit.Test;

public class SiteTableTest {
    private static StackTraceElement frame(String cls, String method, int line) {
        return new StackTraceElement(cls, method, cls.substring(cls.lastIndexOf('.') + 1) + ".java", line);
    }

    private static final StackTraceElement RECORDER = frame("dev.unclosed.boot.Recorder", "track", 10);
    private static final StackTraceElement DEFLATER_INIT = frame("java.util.zip.Deflater", "<init>", 200);

    /** The key a capture of this stack makes (line numbers standing for bytecode indexes), and its site. */
    private static Site site(SiteTable sites, int depth, char role, Kind kind, String detail, String kindName,
            StackTraceElement... stack) {
        StackKey key = new StackKey(depth);
        key.reset(kind.id, role, detail);
        int from = 0;
        while (from < stack.length && stack[from].getClassName().startsWith(SiteTable.AGENT_PACKAGE)) from++;
        for (int i = from; i < stack.length; i++) {
            key.add(stack[i].getClassName(), stack[i].getMethodName(), stack[i].getLineNumber(), kind);
        }
        key.seal();
        StackTraceElement[] kept = Arrays.copyOfRange(stack, from, Math.min(stack.length, from + depth));
        Site known = sites.byKey(key);
        return known != null ? known : sites.add(key, kind, kindName, kept);
    }

    private static Site creation(SiteTable sites, Kind kind, StackTraceElement... stack) {
        return site(sites, 24, Site.CREATION, kind, null, null, stack);
    }

    private static final Kind DEFLATER = Kinds.get(Kinds.DEFLATER);

    @Test
    public void sameStackIsOneSite() {
        SiteTable sites = new SiteTable(100);
        Site a = creation(sites, DEFLATER, RECORDER, DEFLATER_INIT, frame("app.Logger", "log", 42));
        assertSame(a, creation(sites, DEFLATER, RECORDER, DEFLATER_INIT, frame("app.Logger", "log", 42)));
        assertNotSame(a, site(sites, 24, Site.RELEASE, DEFLATER, null, null, RECORDER, DEFLATER_INIT, frame("app.Logger", "log", 42)));
        assertEquals(1, a.id);
        assertEquals(2, sites.size());
    }

    @Test
    public void twoMethodsAllocatingAtTheSameIndexAreTwoSites() {
        SiteTable sites = new SiteTable(100);
        Site a = creation(sites, DEFLATER, DEFLATER_INIT, frame("app.Jobs", "first", 7), frame("app.Main", "main", 5));
        Site b = creation(sites, DEFLATER, DEFLATER_INIT, frame("app.Jobs", "second", 7), frame("app.Main", "main", 5));
        assertNotSame(a, b);
        assertEquals("app.Jobs.second(Jobs.java:7)", b.culprit);
    }

    @Test
    public void callersThatDifferOnlyInTheirMethodAreTwoSites() {
        // Two tests calling one helper at the same index: the helper (the culprit) is the same frame.
        SiteTable sites = new SiteTable(100);
        StackTraceElement helper = frame("app.CodecTest", "exercise", 20);
        Site a = creation(sites, DEFLATER, DEFLATER_INIT, helper, frame("app.CodecTest", "case01", 7));
        Site b = creation(sites, DEFLATER, DEFLATER_INIT, helper, frame("app.CodecTest", "case02", 7));
        assertNotSame(a, b);
        assertSame(b, creation(sites, DEFLATER, DEFLATER_INIT, helper, frame("app.CodecTest", new String("case02"), 7)));
        assertEquals("app.CodecTest.case02(CodecTest.java:7)", b.frames[2]);
    }

    @Test
    public void aFlaterCreatedByItsStreamIsReportedAsTheStream() {
        SiteTable sites = new SiteTable(100);
        Site s = creation(sites, DEFLATER, RECORDER, DEFLATER_INIT, frame("java.util.zip.GZIPOutputStream", "<init>", 93),
                frame("java.util.zip.GZIPOutputStream", "<init>", 112), frame("app.Logger", "log", 42), frame("app.Main", "main", 5));
        assertEquals("java.util.zip.GZIPOutputStream", s.kind);
        assertEquals("zlib", s.family);
        assertEquals("app.Logger.log(Logger.java:42)", s.culprit);
        assertEquals("java.util.zip.Deflater.<init>(Deflater.java:200)", s.frames[0]);
        assertFalse(s.pooled);
    }

    @Test
    public void aFlaterGivenToAStreamIsReportedOnItsOwn() {
        SiteTable sites = new SiteTable(100);
        assertEquals("java.util.zip.Deflater", creation(sites, DEFLATER, RECORDER, DEFLATER_INIT, frame("app.Logger", "log", 41)).kind);
    }

    @Test
    public void zipFilePoolsAreNotCounted() {
        SiteTable sites = new SiteTable(100);
        Site s = creation(sites, Kinds.get(Kinds.INFLATER), RECORDER, frame("java.util.zip.Inflater", "<init>", 1),
                frame("java.util.zip.ZipFile$CleanableResource", "getInflater", 2), frame("app.Main", "main", 5));
        assertTrue(s.pooled);
        assertTrue(sites.counting().isEmpty());
    }

    @Test
    public void stacksPastTheCapShareAnOverflowSite() {
        SiteTable sites = new SiteTable(2);
        for (int line = 1; line <= 5; line++) creation(sites, DEFLATER, DEFLATER_INIT, frame("app.Main", "main", line));
        assertEquals(3, sites.counting().size());
        assertEquals(3, sites.dropped());
    }

    @Test
    public void aRulesLibraryIsNeverTheCulprit() {
        StackTraceElement[] stack = {RECORDER, frame("org.h2.jdbc.JdbcConnection", "<init>", 1), frame("org.h2.Driver", "connect", 2),
            frame("java.sql.DriverManager", "getConnection", 3), frame("app.Main", "main", 4)};
        SiteTable sites = new SiteTable(100);
        Kind skipping = Kinds.get(Kinds.register("org.h2.jdbc.JdbcConnection", "jdbc", 0, new String[] {"org.h2."}));
        assertEquals("app.Main.main(Main.java:4)", creation(sites, skipping, stack).culprit);
        Kind plain = Kinds.get(Kinds.register("org.h2.jdbc.JdbcConnection", "jdbc", 0, null));
        assertEquals("org.h2.Driver.connect(Driver.java:2)", creation(sites, plain, stack).culprit);
    }

    @Test
    public void streamsOfOneStackAreToldApartByTheirStages() {
        StackTraceElement[] stack = {RECORDER, frame("akka.stream.impl.fusing.GraphInterpreterShell", "logics_$eq", 1),
            frame("akka.stream.javadsl.RunnableGraph", "run", 2), frame("app.Streams", "run", 3)};
        SiteTable sites = new SiteTable(100);
        Kind stream = Kinds.get(Kinds.STREAM);
        Site a = site(sites, 24, Site.CREATION, stream, "stages: ActorRefSource", "akka.stream.Source.actorRef", stack);
        Site b = site(sites, 24, Site.CREATION, stream, "stages: QueueSource", "akka.stream.Source.queue", stack);
        assertNotSame(a, b);
        assertSame(a, site(sites, 24, Site.CREATION, stream, "stages: ActorRefSource", "akka.stream.Source.actorRef", stack));
        assertEquals("akka.stream.Source.queue", b.kind);
        assertEquals("stages: QueueSource", b.detail);
        assertEquals("actor", b.family);
        assertEquals("app.Streams.run(Streams.java:3)", b.culprit);
    }

    @Test
    public void keepsOnlyDepthFrames() {
        SiteTable sites = new SiteTable(100);
        Site s = site(sites, 2, Site.CREATION, DEFLATER, null, null, RECORDER, DEFLATER_INIT, frame("app.A", "a", 1), frame("app.B", "b", 2));
        assertEquals(2, s.frames.length);
    }

    @Test
    public void readersGetTheSitesAfterTheOnesTheyKnow() {
        SiteTable sites = new SiteTable(100);
        Site a = creation(sites, DEFLATER, DEFLATER_INIT, frame("app.A", "a", 1));
        Site b = creation(sites, DEFLATER, DEFLATER_INIT, frame("app.B", "b", 2));
        assertEquals(Arrays.asList(a, b), sites.after(0));
        assertEquals(Arrays.asList(b), sites.after(1));
        assertTrue(sites.after(2).isEmpty());
    }

    @Test
    public void objectsFoundAtAttachShareOneSitePerKind() {
        SiteTable sites = new SiteTable(100);
        Site p = sites.preexisting(DEFLATER, null, null);
        assertSame(p, sites.preexisting(DEFLATER, null, null));
        assertEquals(Site.PREEXISTING, p.role);
        assertEquals("java.util.zip.Deflater", p.kind);
        assertEquals(0, p.frames.length);
        assertTrue(sites.counting().contains(p));
    }
}
