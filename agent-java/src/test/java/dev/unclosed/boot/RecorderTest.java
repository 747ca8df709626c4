package dev.unclosed.boot;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;

public class RecorderTest {
    @Before
    public void start() {
        assertTrue(Recorder.start(24, 1000, 100, 1000, 1));
        assertTrue(Recorder.trackingActive() > 0);
    }

    @After
    public void stop() {
        Recorder.stop();
    }

    private static Drain drain() {
        Drain d = Recorder.drain(0, 0, 0, 0);
        assertNotNull(d);
        return d;
    }

    /** The one counting site of this kind in a drain. */
    private static SiteCounts site(Drain drain, String kind) {
        SiteCounts found = null;
        for (SiteCounts c : drain.counts) {
            if (c.totals.site.kind.equals(kind)) {
                assertTrue("one site of " + kind, found == null);
                found = c;
            }
        }
        assertNotNull("a site of " + kind, found);
        return found;
    }

    /** {opened, released, leaked, held, bytesHeld, bytesLeaked, releasedByGc} of the one site of this kind. */
    private static List<Long> totals(String kind) {
        SiteTotals t = site(drain(), kind).totals;
        List<Long> list = new ArrayList<>();
        Collections.addAll(list, t.opened, t.released, t.leaked, t.held, t.bytesHeld, t.bytesLeaked, t.releasedByGc);
        return list;
    }

    private static List<Long> longs(long... values) {
        List<Long> list = new ArrayList<>();
        for (long v : values) list.add(v);
        return list;
    }

    @Test
    public void anObjectTrackedTwiceCountsOnce() {
        int kind = Kinds.register("app.Connection", "jdbc", 5, new String[] {"app."});
        Object connection = new Object();
        Recorder.track(connection, kind);
        Recorder.track(connection, kind); // a constructor calling another
        assertEquals(longs(1, 0, 0, 1, 5, 0, 0), totals("app.Connection"));
        Recorder.close(connection);
        Recorder.close(connection);
        assertEquals(longs(1, 1, 0, 0, 0, 0, 0), totals("app.Connection"));
    }

    @Test
    public void aFlaterAndACopySharingItsStateAreOneObject() {
        Object flater = new Object();
        Object state = new Object();
        Recorder.trackZlib(flater, state, Kinds.DEFLATER);
        Object spy = new Object(); // Mockito's spy copies the fields, the native state among them
        Recorder.trackZlib(spy, state, Kinds.DEFLATER);
        assertEquals(longs(1, 0, 0, 1, Kinds.DEFLATER_BYTES, 0, 0), totals("java.util.zip.Deflater"));
        Recorder.close(state); // end() on either
        assertEquals(longs(1, 1, 0, 0, 0, 0, 0), totals("java.util.zip.Deflater"));
    }

    @Test
    public void aFlaterWithoutNativeStateIsNotTracked() {
        Recorder.trackZlib(new Object(), null, Kinds.INFLATER); // a mock: its constructor never ran
        assertTrue(drain().counts.isEmpty());
    }

    @Test
    public void aDirectBufferWeighsItsCapacity() {
        Recorder.track(new Object(), Kinds.DIRECT, 12345);
        assertEquals(longs(1, 0, 0, 1, 12345, 0, 0), totals("java.nio.DirectByteBuffer"));
    }

    @Test
    public void aStreamIsReleasedOnlyOnceCompleted() {
        Object shell = new Object();
        Recorder.trackStream(shell, new Object[] {new Object()});
        Recorder.closeIf(false, shell);
        assertEquals(longs(1, 0, 0, 1, 0, 0, 0), totals("java.lang.Object"));
        Recorder.closeIf(true, shell);
        assertEquals(longs(1, 1, 0, 0, 0, 0, 0), totals("java.lang.Object"));
    }

    @Test
    public void objectsBornAndEndedBetweenDrainsAreCountedNotListed() {
        int kind = Kinds.register("app.Short", "tests", 0, null);
        for (int i = 0; i < 100; i++) {
            Object o = new Object();
            Recorder.track(o, kind);
            Recorder.close(o);
        }
        Drain d = drain();
        assertEquals(0, d.held.length);
        assertEquals(0, d.events.length);
        assertEquals(100, site(d, "app.Short").totals.released);
    }

    @Test
    public void aHeldObjectIsListedOnceAndItsEndFollows() {
        int kind = Kinds.register("app.Held", "tests", 7, null);
        Object o = new Object();
        Recorder.track(o, kind);
        Drain first = drain();
        assertEquals(Drain.HELD_WIDTH, first.held.length);
        assertEquals(7, first.held[4]);
        assertEquals(0, drain().held.length);
        Recorder.close(o);
        Drain third = drain();
        assertEquals(Drain.EVENT_WIDTH, third.events.length);
        assertEquals(Drain.RELEASED, third.events[0]);
        assertEquals(first.held[0], third.events[1]);
        Site releasedAt = third.newSites.get((int) third.events[2] - 1);
        assertEquals(Site.RELEASE, releasedAt.role);
    }

    @Test
    public void aLeakNoDrainListedComesWithItsCreation() throws Exception {
        int kind = Kinds.register("app.Dropped", "tests", 3, null);
        Recorder.track(new Object(), kind);
        Drain d = null;
        for (int i = 0; i < 100; i++) {
            System.gc();
            Thread.sleep(20);
            d = Recorder.drain(0, 0, 0, 0);
            if (d.events.length > 0) break;
        }
        assertEquals(Drain.LEAKED_UNREPORTED, d.events[0]);
        assertEquals(3, d.events[5]);
        assertEquals(1, site(d, "app.Dropped").totals.leaked);
    }

    @Test
    public void eachReaderGetsTheSitesItLacks() {
        int kind = Kinds.register("app.Twice", "tests", 0, null);
        Recorder.track(new Object[0], kind);
        Drain first = drain();
        assertEquals(1, first.newSites.size());
        assertEquals(1, drain().newSites.size()); // a second reader, knowing nothing yet
        assertEquals(0, Recorder.drain(first.sitesKnown, first.threadsKnown, 0, 0).newSites.size());
        assertEquals(0, Recorder.drain(first.sitesKnown, first.threadsKnown, 0, 0).newThreads.size());
    }

    @Test
    public void objectsYoungerThanTheIntervalAreInFlight() {
        int kind = Kinds.register("app.Young", "tests", 10, null);
        Object o = new Object();
        Recorder.track(o, kind);
        SiteCounts young = site(Recorder.drain(0, 0, 0, 60_000), "app.Young");
        assertEquals(1, young.inFlight);
        assertEquals(10, young.bytesInFlight);
        assertEquals(0, site(Recorder.drain(0, 0, 0, 0), "app.Young").inFlight);
        assertEquals(1, site(drain(), "app.Young").totals.held);
    }

    @Test
    public void drainsAreNumbered() {
        long first = drain().seq;
        assertEquals(first + 1, drain().seq);
    }

    @Test
    public void objectsAreAttributedToTheTestRunning() {
        int kind = Kinds.register("app.InTest", "tests", 0, null);
        Recorder.testStarted("demo.CompressorTest.compresses");
        Object o = new Object();
        Recorder.track(o, kind);
        Recorder.testFinished("demo.CompressorTest.compresses");
        Drain d = drain();
        assertEquals(Collections.singletonList("demo.CompressorTest.compresses"), d.newTests);
        assertEquals(1, d.held[5]);
    }

    @Test
    public void objectsFoundAtAttachAreWatchedFromThen() {
        Object a = new Object();
        Object b = new Object();
        assertTrue(Recorder.adopt(a, Kinds.DEFLATER, 100, () -> false));
        assertTrue(Recorder.adopt(b, Kinds.DEFLATER, 100, () -> false));
        Recorder.close(a);
        SiteCounts c = site(drain(), "java.util.zip.Deflater");
        assertEquals(Site.PREEXISTING, c.totals.site.role);
        assertEquals(2, c.totals.opened);
        assertEquals(1, c.totals.held);
        assertEquals(0, c.inFlight);
    }

    @Test
    public void anObjectTrackedSinceTrackingBeganIsNotAdopted() {
        Object flater = new Object();
        Object state = new Object();
        Recorder.trackZlib(flater, state, Kinds.INFLATER); // created between the instrumentation and the inventory
        assertFalse(Recorder.adopt(state, Kinds.INFLATER, Kinds.INFLATER_BYTES, () -> false));
        assertEquals(Site.CREATION, site(drain(), "java.util.zip.Inflater").totals.site.role);
    }

    @Test
    public void anObjectReleasedBetweenItsFindingAndItsAdoptionCountsReleased() {
        Object buffer = new Object();
        assertTrue(Recorder.adopt(buffer, Kinds.DIRECT, 4096, () -> true));
        assertEquals(longs(1, 1, 0, 0, 0, 0, 0), totals("java.nio.DirectByteBuffer"));
        Recorder.close(buffer); // its release, had it come after
        assertEquals(longs(1, 1, 0, 0, 0, 0, 0), totals("java.nio.DirectByteBuffer"));
    }

    @Test
    public void aStreamFoundAtAttachIsNamedByItsStagesAsATrackedOneIs() {
        Object shell = new Object();
        assertTrue(Recorder.adoptStream(shell, new Object[] {new Object()}, () -> false));
        Site site = site(drain(), "java.lang.Object").totals.site;
        assertEquals(Site.PREEXISTING, site.role);
        assertEquals("stages: Object", site.detail);
        Recorder.closeIf(true, shell); // completed
        assertEquals(longs(1, 1, 0, 0, 0, 0, 0), totals("java.lang.Object"));
    }

    @Test
    public void trackingBeginsWhenSaid() {
        Recorder.stop();
        assertTrue(Recorder.start(24, 1000, 100, 1000, 1));
        assertEquals(0, Recorder.trackingSinceMs());
        long since = Recorder.trackingActive();
        assertTrue(since > 0);
        assertEquals(since, Recorder.trackingActive());
    }

    @Test
    public void theJvmsCleanerThreadIsKnown() throws Exception {
        Thread handler = null;
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.getName().equals("Reference Handler")) handler = t;
        }
        assertNotNull(handler);
        assertTrue(ThreadSlot.isCleaner(handler));
        assertFalse(ThreadSlot.isCleaner(Thread.currentThread()));
        assertFalse(ThreadSlot.isCleaner(new Thread("Reference Handler")));
    }

    @Test
    public void threadsStartedByTheAgentsOwnDoNotRecord() throws Exception {
        int kind = Kinds.register("app.Started", "tests", 0, null);
        Thread agent = new Thread(() -> {
            Recorder.ignoreCurrentThread();
            Thread child = new Thread(() -> Recorder.track(new Object(), kind));
            child.start();
            try {
                child.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        agent.start();
        agent.join();
        Recorder.track(new Object(), kind); // this thread still records
        assertEquals(1, site(drain(), "app.Started").totals.opened);
    }
}
