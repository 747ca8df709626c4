package dev.unclosed.boot;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;

import org.junit.After;
import org.junit.Before;
import org.junit.Test;

public class RecorderTest {
    @Before
    public void start() {
        assertTrue(Recorder.start(24, 1000, 100, 1000, 1));
    }

    @After
    public void stop() {
        Recorder.stop();
    }

    /** {opened, released, leaked, held, bytesHeld, bytesLeaked, releasedByGc} of the one site of this kind. */
    private static long[] totals(String kind) {
        Drain drain = Recorder.drain();
        assertNotNull(drain);
        Site found = null;
        for (Site s : drain.creationSites) {
            if (s.kind.equals(kind)) {
                assertTrue("one site of " + kind, found == null);
                found = s;
            }
        }
        assertNotNull("a site of " + kind, found);
        return found.totals();
    }

    @Test
    public void anObjectTrackedTwiceCountsOnce() {
        int kind = Kinds.register("app.Connection", "jdbc", 5, new String[] {"app."});
        Object connection = new Object();
        Recorder.track(connection, kind);
        Recorder.track(connection, kind); // a constructor calling another
        assertArrayEquals(new long[] {1, 0, 0, 1, 5, 0, 0}, totals("app.Connection"));
        Recorder.close(connection);
        Recorder.close(connection);
        assertArrayEquals(new long[] {1, 1, 0, 0, 0, 0, 0}, totals("app.Connection"));
    }

    @Test
    public void aDirectBufferWeighsItsCapacity() {
        Object deallocator = new Object();
        Recorder.track(deallocator, Kinds.DIRECT, 12345);
        assertArrayEquals(new long[] {1, 0, 0, 1, 12345, 0, 0}, totals("java.nio.DirectByteBuffer"));
    }

    @Test
    public void aStreamIsReleasedOnlyOnceCompleted() {
        Object shell = new Object();
        Recorder.trackStream(shell, new Object[] {new Object()});
        Recorder.closeIf(false, shell);
        assertArrayEquals(new long[] {1, 0, 0, 1, 0, 0, 0}, totals("java.lang.Object"));
        Recorder.closeIf(true, shell);
        assertArrayEquals(new long[] {1, 1, 0, 0, 0, 0, 0}, totals("java.lang.Object"));
    }

    @Test
    public void theJvmsCleanerThreadIsKnown() throws Exception {
        Thread handler = null;
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.getName().equals("Reference Handler")) handler = t;
        }
        assertNotNull(handler);
        assertTrue(Recorder.isCleaner(handler));
        assertFalse(Recorder.isCleaner(Thread.currentThread()));
        Thread named = new Thread("Reference Handler");
        assertFalse(Recorder.isCleaner(named));
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
        assertEquals(1, totals("app.Started")[0]);
    }
}
