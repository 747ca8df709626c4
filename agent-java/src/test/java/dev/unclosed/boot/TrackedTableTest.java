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
    private final Site site = new Site(1, true, Kinds.get(0), "k", "f", "", new String[0], null, false);

    private TrackedRef ref(Object o, long created) {
        return new TrackedRef(o, queue, 7, site, created, 10);
    }

    @Test
    public void findsObjectsByIdentityNotEquality() {
        TrackedTable table = new TrackedTable();
        String a = new String("same");
        String b = new String("same");
        TrackedRef ra = ref(a, 1);
        table.add(ra);
        assertNull(table.remove(b));
        assertSame(ra, table.remove(a));
        assertNull(table.remove(a));
        assertEquals(0, table.size());
    }

    @Test
    public void knowsWhatItTracks() {
        TrackedTable table = new TrackedTable();
        Object o = new Object();
        assertFalse(table.contains(o));
        table.add(ref(o, 1));
        assertTrue(table.contains(o));
        assertFalse(table.contains(new Object()));
        table.remove(o);
        assertFalse(table.contains(o));
    }

    @Test
    public void removingAnEntryTwiceCountsOnce() {
        TrackedTable table = new TrackedTable();
        Object o = new Object();
        TrackedRef r = ref(o, 1);
        table.add(r);
        assertTrue(table.remove(r));
        assertFalse(table.remove(r));
    }

    @Test
    public void growsAndKeepsEveryEntry() {
        TrackedTable table = new TrackedTable();
        List<Object> objects = new ArrayList<>();
        for (int i = 0; i < 10_000; i++) {
            Object o = new Object();
            objects.add(o);
            table.add(ref(o, 1000 + i));
        }
        assertEquals(10_000, table.size());
        assertEquals(1000, table.oldestHeldBySite(1)[1]);
        for (Object o : objects) assertTrue(table.remove(o) != null);
        assertEquals(0, table.size());
    }
}
