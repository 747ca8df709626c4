package dev.unclosed.io;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Comparator;
import java.util.stream.Stream;
import org.junit.After;
import org.junit.Test;

public class PrivateFilesTest {
    private Path base;

    @After
    public void removeBase() throws IOException {
        if (base == null) return;
        try (Stream<Path> all = Files.walk(base)) {
            all.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
    @Test
    public void theEffectiveUidIsTheSecondOfTheUidLine() throws IOException {
        assertEquals(Integer.valueOf(1001), PrivateFiles.effectiveUid("Name:\tjava\nUid:\t1000\t1001\t1002\t1003\nGid:\t5\t5\t5\t5\n"));
        base = Files.createTempDirectory("unclosed-pf");
        assertEquals(Files.getAttribute(base, "unix:uid"), PrivateFiles.currentUid());
    }

    @Test
    public void aFolderInAFolderOthersMayWriteIsRefused() throws IOException {
        base = Files.createTempDirectory("unclosed-pf");
        Path open = Files.createDirectory(base.resolve("open"));
        Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rwxrwxrwx"));
        try {
            PrivateFiles.folder(open.resolve("agent"), false);
            fail("accepted a folder in " + open);
        } catch (IOException refused) {
            assertEquals(open.resolve("agent") + " is in " + open + ", which other users may write (mode 0777)", refused.getMessage());
        }
        assertFalse(Files.exists(open.resolve("agent")));
        Path mine = PrivateFiles.folder(base.resolve("mine"), false);
        assertTrue(Files.isDirectory(mine));
    }

    @Test
    public void aFolderSwappedForALinkIsNotEmptiedThroughIt() throws IOException {
        base = Files.createTempDirectory("unclosed-pf");
        Path dir = PrivateFiles.folder(base.resolve("agent"), false);
        Object key = PrivateFiles.fileKey(dir);
        Path victims = Files.createDirectory(base.resolve("victims"));
        Files.write(victims.resolve("passwd"), new byte[] {1});
        Files.move(dir, base.resolve("moved"));
        Files.createSymbolicLink(dir, victims);
        PrivateFiles.deleteFolder(dir, key);
        assertTrue(Files.exists(victims.resolve("passwd")));
        assertTrue(Files.isSymbolicLink(dir));
        // Another folder made at the name is not this one either.
        Files.delete(dir);
        Files.createDirectory(dir);
        Files.write(dir.resolve("control"), new byte[] {1});
        PrivateFiles.deleteFolder(dir, key);
        assertTrue(Files.exists(dir.resolve("control")));
        // The folder itself: emptied (links removed, not followed) and gone.
        Path own = base.resolve("moved");
        Files.createSymbolicLink(own.resolve("link"), victims);
        Files.write(own.resolve("agent.log"), new byte[] {1});
        PrivateFiles.deleteFolder(own, key);
        assertFalse(Files.exists(own));
        assertTrue(Files.exists(victims.resolve("passwd")));
    }
}
