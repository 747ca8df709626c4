package dev.unclosed.boot;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertTrue;

import java.lang.ref.ReferenceQueue;
import java.util.ArrayList;
import java.util.List;
import org.junit.Test;

public class TrackedTableTest {
    private final ReferenceQueue<Object> queue = new ReferenceQueue<>();
    private final Site site = new Site(1, Site.CREATION, Kinds.get(0), "k", "f", "", new String[0], null, false);

    private TrackedRef ref(Object o, long created) {
        return new TrackedRef(o, o, queue, 7, site, created, 10, 0);
    }

    @Test
    public void findsObjectsByIdentityNotEquality() {
        TrackedTable table = new TrackedTable(1_000_000);
        String a = new String("same");
        String b = new String("same");
        TrackedRef ra = ref(a, 1);
        table.add(ra, a);
        assertNull(table.remove(b));
        assertSame(ra, table.remove(a));
        assertNull(table.remove(a));
        assertEquals(0, table.size());
    }

    @Test
    public void knowsWhatItTracks() {
        TrackedTable table = new TrackedTable(1_000_000);
        Object o = new Object();
        assertFalse(table.contains(o));
        table.add(ref(o, 1), o);
        assertTrue(table.contains(o));
        assertFalse(table.contains(new Object()));
        table.remove(o);
        assertFalse(table.contains(o));
    }

    @Test
    public void removingAnEntryTwiceCountsOnce() {
        TrackedTable table = new TrackedTable(1_000_000);
        Object o = new Object();
        TrackedRef r = ref(o, 1);
        table.add(r, o);
        assertTrue(table.remove(r));
        assertFalse(table.remove(r));
    }

    @Test
    public void growsAndKeepsEveryEntry() {
        TrackedTable table = new TrackedTable(1_000_000);
        List<Object> objects = new ArrayList<>();
        for (int i = 0; i < 10_000; i++) {
            Object o = new Object();
            objects.add(o);
            table.add(ref(o, 1000 + i), o);
        }
        assertEquals(10_000, table.size());
        for (Object o : objects) assertTrue(table.remove(o) != null);
        assertEquals(0, table.size());
    }

    @Test
    public void anObjectTrackedByItsStateIsFoundByTheState() {
        TrackedTable table = new TrackedTable(1_000_000);
        Object flater = new Object();
        Object state = new Object();
        TrackedRef r = new TrackedRef(flater, state, queue, 1, site, 1, 10, 0);
        assertEquals(TrackedTable.ADDED, table.add(r, state));
        assertEquals(TrackedTable.PRESENT, table.add(new TrackedRef(new Object(), state, queue, 2, site, 1, 10, 0), state));
        assertFalse(table.contains(flater));
        assertSame(r, table.remove(state));
        assertSame(flater, r.get()); // held weakly by the object, not by its state
    }

    @Test
    public void aFullTableAddsNoMore() {
        TrackedTable table = new TrackedTable(64); // one per stripe
        int full = 0;
        for (int i = 0; i < 1000; i++) {
            Object o = new Object();
            if (table.add(ref(o, 1), o) == TrackedTable.FULL) full++;
        }
        assertEquals(64, table.size());
        assertEquals(1000 - 64, full);
    }
}
