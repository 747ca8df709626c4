package dev.unclosed.io;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.Set;

/**
 * The agent writes only into folders it made, or that are provably its user's alone, and only
 * to files it creates itself: never through a symbolic link, never into a file another user
 * placed. It runs inside other people's JVMs, often started by root on a host other users share.
 */
public final class PrivateFiles {
    private static final FileAttribute<Set<PosixFilePermission>> OWNER_DIR =
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------"));
    private static final FileAttribute<Set<PosixFilePermission>> OWNER_FILE =
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"));
    private static final SecureRandom RANDOM = new SecureRandom();

    private PrivateFiles() {}

    /**
     * The folder at {@code path}, made owner-only if missing (with its missing parents). An
     * existing one only if it is a real folder (not a link) of this process's user that no
     * other user may write into; one that others may read is made owner-only if
     * {@code tighten}, else refused. A refusal is an {@link IOException} that says why.
     */
    public static Path folder(Path path, boolean tighten) throws IOException {
        Path dir = path.toAbsolutePath().normalize();
        try {
            Path parent = dir.getParent();
            if (parent != null && !Files.isDirectory(parent)) Files.createDirectories(parent, OWNER_DIR);
            Files.createDirectory(dir, OWNER_DIR);
            return dir;
        } catch (FileAlreadyExistsException e) {
            // Checked below, without following a link.
        }
        String unsafe = whyNotPrivate(dir);
        if (unsafe == READABLE && tighten) {
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
        } else if (unsafe != null) {
            throw new IOException(dir + " " + unsafe);
        }
        return dir;
    }

    /** A new owner-only folder named {@code prefix} plus a random part, in {@code parent}. */
    public static Path freshFolder(Path parent, String prefix) throws IOException {
        for (int attempt = 0; ; attempt++) {
            Path dir = parent.resolve(prefix + "-" + Long.toHexString(RANDOM.nextLong() & Long.MAX_VALUE));
            try {
                return Files.createDirectory(dir, OWNER_DIR);
            } catch (FileAlreadyExistsException e) {
                if (attempt > 10) throw e;
            }
        }
    }

    private static final String READABLE = "may be read by other users";

    /** Why the folder is not the user's alone, or null when it is. */
    static String whyNotPrivate(Path dir) throws IOException {
        PosixFileAttributes a;
        try {
            a = Files.readAttributes(dir, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (UnsupportedOperationException e) {
            return Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS) ? null : "is not a folder";
        }
        if (a.isSymbolicLink()) return "is a symbolic link";
        if (!a.isDirectory()) return "is not a folder";
        Object uid = Files.getAttribute(dir, "unix:uid", LinkOption.NOFOLLOW_LINKS);
        if (!uid.equals(currentUid())) return "belongs to another user (uid " + uid + ")";
        Set<PosixFilePermission> p = a.permissions();
        if (p.contains(PosixFilePermission.GROUP_WRITE) || p.contains(PosixFilePermission.OTHERS_WRITE)) {
            return "may be written by other users (mode " + PosixFilePermissions.toString(p) + ")";
        }
        if (p.contains(PosixFilePermission.GROUP_READ) || p.contains(PosixFilePermission.OTHERS_READ)
                || p.contains(PosixFilePermission.GROUP_EXECUTE) || p.contains(PosixFilePermission.OTHERS_EXECUTE)) {
            return READABLE;
        }
        return null;
    }

    /** This process's user id: the owner of what it creates. */
    static Object currentUid() throws IOException {
        return Files.getAttribute(Paths.get("/proc/self"), "unix:uid", LinkOption.NOFOLLOW_LINKS);
    }

    /** What writes a file's content. */
    public interface Content {
        void writeTo(OutputStream out) throws IOException;
    }

    /**
     * Writes {@code dir/name} whole or not at all: into a new owner-only file of a random name
     * (created exclusively, so never through a planted link), then renamed into place (a rename
     * replaces a link at the name, it does not follow it).
     */
    public static Path writeAtomically(Path dir, String name, Content content) throws IOException {
        Path tmp = dir.resolve("." + name + "." + Long.toHexString(RANDOM.nextLong() & Long.MAX_VALUE) + ".tmp");
        try (OutputStream out = Files.newOutputStream(create(tmp), StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS)) {
            content.writeTo(out);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        return Files.move(tmp, dir.resolve(name), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /** Appends to an owner-only file the agent created (made now if missing); never through a link. */
    public static OutputStream append(Path file) throws IOException {
        if (!Files.exists(file, LinkOption.NOFOLLOW_LINKS)) {
            try {
                create(file);
            } catch (FileAlreadyExistsException e) {
                // Another thread made it; the open below still refuses a link.
            }
        }
        return Files.newOutputStream(file, StandardOpenOption.APPEND, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);
    }

    private static Path create(Path file) throws IOException {
        try {
            return Files.createFile(file, OWNER_FILE);
        } catch (UnsupportedOperationException e) {
            return Files.createFile(file);
        }
    }

    /** Deletes the files directly in {@code dir} and the folder itself; links are removed, not followed. */
    public static void deleteFolder(Path dir) {
        try (java.nio.file.DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
            for (Path entry : entries) Files.deleteIfExists(entry);
            Files.deleteIfExists(dir);
        } catch (IOException e) {
            // Best effort: the folder is private; what stays is the controller's to clear.
        }
    }

    /** A name with no folder part and no dot first: a file directly in a folder of the agent's. */
    public static boolean isPlainName(String name) {
        return !name.isEmpty() && !name.startsWith(".") && name.indexOf('/') < 0 && name.indexOf('\0') < 0;
    }
}
