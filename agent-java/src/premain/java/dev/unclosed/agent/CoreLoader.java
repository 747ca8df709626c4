package dev.unclosed.agent;

import java.io.ByteArrayInputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.net.MalformedURLException;
import java.net.URL;
import java.security.CodeSource;
import java.security.ProtectionDomain;
import java.security.cert.Certificate;
import java.util.Collections;
import java.util.Enumeration;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;

/**
 * The agent's own class loader: the classes and resources under {@code unclosed/core/} of the
 * agent jar (the agent's core, ByteBuddy, py4j), read in place. Its parent is the platform
 * loader, so it sees the JDK and the recorder in the boot loader, and nothing of the
 * application's.
 */
final class CoreLoader extends ClassLoader {
    static final String PREFIX = "unclosed/core/";

    static {
        registerAsParallelCapable();
    }

    private final JarFile jar;
    private final String jarUrl;
    private final ProtectionDomain domain;

    CoreLoader(JarFile jar, File jarFile, ClassLoader parent) throws MalformedURLException {
        super(parent);
        this.jar = jar;
        URL url = jarFile.toURI().toURL();
        this.jarUrl = url.toString();
        this.domain = new ProtectionDomain(new CodeSource(url, (Certificate[]) null), null, this, null);
    }

    @Override
    protected Class<?> findClass(String name) throws ClassNotFoundException {
        JarEntry entry = jar.getJarEntry(PREFIX + name.replace('.', '/') + ".class");
        if (entry == null) throw new ClassNotFoundException(name);
        try {
            byte[] bytes = BootClasses.bytes(jar, entry);
            return defineClass(name, bytes, 0, bytes.length, domain);
        } catch (IOException e) {
            throw new ClassNotFoundException(name, e);
        }
    }

    /** ByteBuddy reads the advice classes' bytes as resources. */
    @Override
    public InputStream getResourceAsStream(String name) {
        JarEntry entry = jar.getJarEntry(PREFIX + name);
        if (entry == null) return super.getResourceAsStream(name);
        try {
            return new ByteArrayInputStream(BootClasses.bytes(jar, entry));
        } catch (IOException e) {
            return null;
        }
    }

    @Override
    protected URL findResource(String name) {
        if (jar.getJarEntry(PREFIX + name) == null) return null;
        try {
            return new URL("jar:" + jarUrl + "!/" + PREFIX + name);
        } catch (MalformedURLException e) {
            return null;
        }
    }

    @Override
    protected Enumeration<URL> findResources(String name) {
        URL url = findResource(name);
        return url == null ? Collections.<URL>emptyEnumeration() : Collections.enumeration(Collections.singletonList(url));
    }
}
