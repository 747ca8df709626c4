package dev.unclosed.agent;

import java.io.File;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.FileWriter;
import java.io.PrintWriter;
import java.lang.instrument.Instrumentation;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.List;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;

/**
 * The agent's entry point. It touches only JDK types: it puts the recorder on the boot class
 * path, then loads everything else (ByteBuddy, py4j, our instrumentation and channel) in a
 * class loader of its own, so that an application's own ByteBuddy or py4j is never affected.
 */
public final class AgentMain {
    private static final String NESTED = "unclosed/";
    private static final String BOOT_JAR = "boot.jar";
    private static final String RECORDER = "dev.unclosed.boot.Recorder";
    private static final String CORE = "dev.unclosed.core.AgentCore";

    private AgentMain() {}

    /** {@code -javaagent}: the application must start whatever happens here. */
    public static void premain(String options, Instrumentation inst) {
        try {
            start(options, inst, "startup");
        } catch (Throwable t) {
            System.err.println("unclosed: agent not started: " + t);
        }
    }

    /** Attach: a failure is thrown back, so that the controller reports the target's reason. */
    public static void agentmain(String options, Instrumentation inst) throws Exception {
        start(options, inst, "attach");
    }

    private static synchronized void start(String options, Instrumentation inst, String mode) throws Exception {
        File dir = agentDir(options);
        try {
            File[] jars = extractNestedJars(dir);
            if (!isOnBootPath()) {
                inst.appendToBootstrapClassLoaderSearch(new JarFile(new File(dir, BOOT_JAR)));
            }
            URL[] urls = new URL[jars.length];
            for (int i = 0; i < jars.length; i++) urls[i] = jars[i].toURI().toURL();
            // Parent: the platform (JDK 9+) or extension (JDK 8) loader; it sees the boot path.
            ClassLoader isolated = new URLClassLoader(urls, ClassLoader.getSystemClassLoader().getParent());
            Method startCore = isolated.loadClass(CORE)
                    .getMethod("start", Instrumentation.class, String.class, String.class, File.class);
            startCore.invoke(null, inst, options == null ? "" : options, mode, dir);
        } catch (Throwable t) {
            Throwable cause = t instanceof java.lang.reflect.InvocationTargetException ? t.getCause() : t;
            log(dir, "agent not started: " + cause);
            if (cause instanceof Exception) throw (Exception) cause;
            throw new IllegalStateException(cause);
        }
    }

    private static boolean isOnBootPath() {
        try {
            Class.forName(RECORDER, false, null);
            return true;
        } catch (ClassNotFoundException e) {
            return false;
        }
    }

    /** The {@code dir=} option, or {@code ${java.io.tmpdir}/unclosed-<pid>}; created owner-only. */
    static File agentDir(String options) throws IOException {
        String path = null;
        if (options != null) {
            for (String part : options.split(",")) {
                if (part.startsWith("dir=")) path = part.substring(4);
            }
        }
        if (path == null || path.isEmpty()) {
            String pid = java.lang.management.ManagementFactory.getRuntimeMXBean().getName().split("@")[0];
            path = System.getProperty("java.io.tmpdir") + File.separator + "unclosed-" + pid;
        }
        File dir = new File(path).getAbsoluteFile();
        if (!dir.isDirectory() && !dir.mkdirs()) throw new IOException("cannot create " + dir);
        try {
            Files.setPosixFilePermissions(dir.toPath(), PosixFilePermissions.fromString("rwx------"));
        } catch (UnsupportedOperationException e) {
            // Not a POSIX file system; nothing more to restrict.
        }
        return dir;
    }

    /**
     * Copies the jars nested under {@code unclosed/} in the agent jar: the boot jar into
     * {@code dir} (once: the boot path keeps it open), the others into a new folder per start,
     * since a detached session's class loader may still have the previous copies open.
     */
    private static File[] extractNestedJars(File dir) throws Exception {
        File agentJar = new File(AgentMain.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        File lib = new File(dir, "lib-" + System.currentTimeMillis() + "-" + System.nanoTime());
        if (!lib.mkdirs()) throw new IOException("cannot create " + lib);
        // Files registered after their folder are deleted before it at exit.
        lib.deleteOnExit();
        List<File> isolated = new ArrayList<File>();
        try (JarFile jar = new JarFile(agentJar)) {
            Enumeration<JarEntry> entries = jar.entries();
            while (entries.hasMoreElements()) {
                JarEntry e = entries.nextElement();
                String name = e.getName();
                if (!name.startsWith(NESTED) || !name.endsWith(".jar")) continue;
                String fileName = name.substring(NESTED.length());
                boolean boot = fileName.equals(BOOT_JAR);
                if (boot && isOnBootPath()) continue;
                File target = boot ? new File(dir, BOOT_JAR) : new File(lib, fileName);
                try (InputStream in = jar.getInputStream(e); OutputStream out = new FileOutputStream(target)) {
                    byte[] buf = new byte[65536];
                    for (int n; (n = in.read(buf)) > 0; ) out.write(buf, 0, n);
                }
                target.deleteOnExit();
                if (!boot) isolated.add(target);
            }
        }
        return isolated.toArray(new File[0]);
    }

    private static void log(File dir, String message) {
        try (PrintWriter w = new PrintWriter(new FileWriter(new File(dir, "agent.log"), true))) {
            w.println(System.currentTimeMillis() + " " + message);
        } catch (IOException ignored) {
            // Nowhere left to report to; the caller reports on stderr or to the attacher.
        }
    }
}
