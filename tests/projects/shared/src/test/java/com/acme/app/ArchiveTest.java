package com.acme.app;

import static com.acme.app.Text.check;
import static com.acme.app.Text.repeat;

import com.acme.lib.Archive;
import org.junit.Test;

/** One batch of six entries through the library: 6 Deflaters at one stack, the finding's top path. */
public class ArchiveTest {
    @Test
    public void packsABatch() {
        byte[] entry = repeat("entry");
        check(Archive.pack(entry, entry, entry, entry, entry, entry).size() == 6);
    }

    @Test
    public void packsNothing() {
        check(Archive.pack().isEmpty());
    }
}
