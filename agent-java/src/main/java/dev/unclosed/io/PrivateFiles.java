package dev.unclosed.io;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.Map;
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
    /** This process's effective user id, read once. */
    private static volatile Integer uid;

    private PrivateFiles() {}

    /**
     * The folder at {@code path}, made owner-only if missing (with its missing parents). An
     * existing one only if it is a real folder (not a link) of this process's user that no
     * other user may write into; one that others may read is made owner-only if
     * {@code tighten}, else refused; refused too when another user could swap it for a link (see
     * {@link #checkParents}). A refusal is an {@link IOException} that says why.
     */
    public static Path folder(Path path, boolean tighten) throws IOException {
        Path dir = path.toAbsolutePath().normalize();
        checkParents(dir);
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
        checkParents(parent.toAbsolutePath().normalize().resolve(prefix));
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

    /**
     * Refuses {@code dir} when another user could rename it, or a folder above it, and put a link
     * in its place (the agent works by path): each existing folder above it, as named and as
     * reached through links, must be root's or this user's, and not writable by group or others
     * unless sticky (as OpenSSH's StrictModes; {@code /tmp} is fine).
     */
    static void checkParents(Path dir) throws IOException {
        Path existing = dir.getParent();
        while (existing != null && !Files.exists(existing)) existing = existing.getParent();
        if (existing == null) return;
        try {
            String unsafe = unsafeFolderAbove(existing);
            if (unsafe == null) unsafe = unsafeFolderAbove(existing.toRealPath());
            if (unsafe != null) throw new IOException(dir + " is in " + unsafe);
        } catch (UnsupportedOperationException e) {
            // No unix attributes here: nothing to check them against.
        }
    }

    /** The first of {@code folder} and the folders above it that another user may change, and why; or null. */
    private static String unsafeFolderAbove(Path folder) throws IOException {
        for (Path p = folder; p != null; p = p.getParent()) {
            Map<String, Object> a = Files.readAttributes(p, "unix:uid,mode");
            int owner = (Integer) a.get("uid");
            int mode = (Integer) a.get("mode");
            if (owner != 0 && !currentUid().equals(owner)) return p + ", which belongs to another user (uid " + owner + ")";
            if ((mode & 0022) != 0 && (mode & 01000) == 0) {
                return p + ", which other users may write (mode " + String.format("%04o", mode & 07777) + ")";
            }
        }
        return null;
    }

    /** This process's effective user id (the owner of what it creates), from {@code /proc/self/status}. */
    static Integer currentUid() throws IOException {
        Integer known = uid;
        if (known == null) {
            known = effectiveUid(new String(Files.readAllBytes(Paths.get("/proc/self/status")), StandardCharsets.ISO_8859_1));
            uid = known;
        }
        return known;
    }

    /** The effective uid in a {@code /proc/PID/status} text: the second field of its {@code Uid:} line. */
    static Integer effectiveUid(String status) throws IOException {
        for (String line : status.split("\n")) {
            if (line.startsWith("Uid:")) {
                String[] ids = line.substring(4).trim().split("\\s+");
                if (ids.length >= 2) return Integer.valueOf(ids[1]);
            }
        }
        throw new IOException("no effective uid in /proc/self/status");
    }

    /** The identity (device and inode) of the folder at {@code dir} itself, not of what a link there names; null if unknown. */
    public static Object fileKey(Path dir) {
        try {
            BasicFileAttributes a = Files.readAttributes(dir, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            return a.isDirectory() ? a.fileKey() : null;
        } catch (IOException | RuntimeException e) {
            return null;
        }
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

    /**
     * Deletes the files directly in {@code dir} and the folder itself, if it is still the folder
     * whose {@link #fileKey} was {@code key} (not a link or another folder put in its place since);
     * links are removed, not followed. Where the platform allows, the entries are deleted
     * relative to the folder as opened, so a swap meanwhile changes nothing.
     */
    public static void deleteFolder(Path dir, Object key) {
        if (key == null || !key.equals(fileKey(dir))) return;
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
            if (entries instanceof SecureDirectoryStream) {
                SecureDirectoryStream<Path> opened = (SecureDirectoryStream<Path>) entries;
                if (!key.equals(opened.getFileAttributeView(BasicFileAttributeView.class).readAttributes().fileKey())) return;
                for (Path entry : opened) {
                    Path name = entry.getFileName();
                    try {
                        opened.deleteFile(name);
                    } catch (IOException notAFile) {
                        try {
                            opened.deleteDirectory(name);
                        } catch (IOException kept) {
                            // Not the agent's (it makes no folders there): left as it is.
                        }
                    }
                }
            } else {
                for (Path entry : entries) Files.deleteIfExists(entry);
            }
            if (key.equals(fileKey(dir))) Files.deleteIfExists(dir);
        } catch (IOException e) {
            // Best effort: the folder is private; what stays is the controller's to clear.
        }
    }

    /** A name with no folder part and no dot first: a file directly in a folder of the agent's. */
    public static boolean isPlainName(String name) {
        return !name.isEmpty() && !name.startsWith(".") && name.indexOf('/') < 0 && name.indexOf('\0') < 0;
    }
}
