package dev.unclosed.agent;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.lang.instrument.Instrumentation;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.security.ProtectionDomain;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Enumeration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;

/**
 * Defines the recorder's classes (this jar's {@code unclosed/boot/}) in the boot class loader,
 * where the JDK's own classes, once instrumented, can see them. They are defined from their
 * bytes with the JDK's internal {@code Unsafe.defineClass}, which the agent may call once
 * {@link Instrumentation#redefineModule} exports its package to the agent: unlike appending a
 * jar to the boot class path, this leaves class data sharing on and prints nothing (checked on
 * JDK 11, 17, 21 and 25).
 */
final class BootClasses {
    static final String PREFIX = "unclosed/boot/";
    private static final String PROBE = "dev.unclosed.boot.Recorder";

    private BootClasses() {}

    static void define(Instrumentation inst, JarFile jar) throws Exception {
        if (isDefined(PROBE)) return; // an earlier agent in this JVM defined them
        Map<String, byte[]> pending = read(jar);
        Class<?> unsafeType = Class.forName("jdk.internal.misc.Unsafe");
        exportToAgent(inst, unsafeType);
        Object unsafe = unsafeType.getMethod("getUnsafe").invoke(null);
        Method defineClass = unsafeType.getMethod("defineClass", String.class, byte[].class, int.class, int.class,
                ClassLoader.class, ProtectionDomain.class);
        // A class is defined after its supertypes of this package: what fails for want of one waits for the next round.
        while (!pending.isEmpty()) {
            List<String> defined = new ArrayList<String>();
            LinkageError lastError = null;
            for (Map.Entry<String, byte[]> e : pending.entrySet()) {
                try {
                    defineClass.invoke(unsafe, e.getKey(), e.getValue(), 0, e.getValue().length, null, null);
                    defined.add(e.getKey());
                } catch (InvocationTargetException failed) {
                    if (!(failed.getCause() instanceof NoClassDefFoundError)) throw failed;
                    lastError = (LinkageError) failed.getCause();
                }
            }
            if (defined.isEmpty()) throw new IllegalStateException("cannot define the recorder's classes: " + lastError);
            for (String name : defined) pending.remove(name);
        }
    }

    /** Exports {@code jdk.internal.misc} of java.base to this agent's module (JDK 9+ API, by reflection). */
    private static void exportToAgent(Instrumentation inst, Class<?> unsafeType) throws Exception {
        Method getModule = Class.class.getMethod("getModule");
        Object javaBase = getModule.invoke(unsafeType);
        Object agent = getModule.invoke(BootClasses.class);
        Method redefineModule = Instrumentation.class.getMethod("redefineModule", Class.forName("java.lang.Module"),
                Set.class, Map.class, Map.class, Set.class, Map.class);
        Map<String, Set<Object>> exports = new HashMap<String, Set<Object>>();
        exports.put("jdk.internal.misc", Collections.singleton(agent));
        redefineModule.invoke(inst, javaBase, Collections.emptySet(), exports, Collections.emptyMap(),
                Collections.emptySet(), Collections.emptyMap());
    }

    private static boolean isDefined(String name) {
        try {
            Class.forName(name, false, null);
            return true;
        } catch (ClassNotFoundException e) {
            return false;
        }
    }

    /** Class name to bytes, of every class under {@link #PREFIX}. */
    private static Map<String, byte[]> read(JarFile jar) throws IOException {
        Map<String, byte[]> classes = new LinkedHashMap<String, byte[]>();
        Enumeration<JarEntry> entries = jar.entries();
        while (entries.hasMoreElements()) {
            JarEntry e = entries.nextElement();
            String path = e.getName();
            if (!path.startsWith(PREFIX) || !path.endsWith(".class")) continue;
            String name = path.substring(PREFIX.length(), path.length() - ".class".length()).replace('/', '.');
            classes.put(name, bytes(jar, e));
        }
        return classes;
    }

    static byte[] bytes(JarFile jar, JarEntry entry) throws IOException {
        try (InputStream in = jar.getInputStream(entry)) {
            ByteArrayOutputStream out = new ByteArrayOutputStream((int) Math.max(entry.getSize(), 256));
            byte[] buffer = new byte[8192];
            for (int n; (n = in.read(buffer)) > 0; ) out.write(buffer, 0, n);
            return out.toByteArray();
        }
    }
}
