package dev.unclosed.channel;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import dev.unclosed.boot.Kinds;
import dev.unclosed.boot.Recorder;
import java.util.ArrayList;
import java.util.List;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;

public class KindTotalsTest {
    private final List<Object> held = new ArrayList<>();

    @Before
    public void start() {
        assertTrue(Recorder.start(24, 1000, 100, 1000, 1));
        Recorder.trackingActive();
    }

    @After
    public void stop() {
        Recorder.stop();
    }

    private void open(int kind) {
        Object o = new Object();
        held.add(o);
        Recorder.track(o, kind);
    }

    @Test
    public void theSitesOfOneKindAreSummedAndKindsComeInNameOrder() {
        int pool = Kinds.register("app.Pool", "jdbc", 100, null);
        int socket = Kinds.register("app.Socket", "net", 7, null);
        open(socket);
        open(pool); // one site
        for (int i = 0; i < 2; i++) open(pool); // another
        Recorder.close(held.get(1));
        List<KindTotals> kinds = KindTotals.now();
        assertEquals(2, kinds.size());
        KindTotals p = kinds.get(0);
        assertEquals("app.Pool", p.kind);
        assertEquals("jdbc", p.family);
        assertEquals("opened released leaked held bytesHeld bytesLeaked", "3 1 0 2 200 0",
                p.opened + " " + p.released + " " + p.leaked + " " + p.held + " " + p.bytesHeld + " " + p.bytesLeaked);
        assertEquals("app.Socket", kinds.get(1).kind);
        assertEquals(1, kinds.get(1).held);
    }
}
