package dev.unclosed.agent;

import java.io.File;
import java.lang.instrument.Instrumentation;
import java.lang.reflect.InvocationTargetException;
import java.util.jar.JarFile;

/**
 * The agent's entry points: {@code -javaagent} (premain), an attach (agentmain), and
 * {@code java -jar unclosed-agent.jar PID [options]} (main: attaches to PID, for where no
 * controller runs, as inside a container).
 *
 * <p>Invariants, as they must hold before anything else runs in someone else's JVM:
 * <ul>
 *   <li>This class and its package touch only JDK types (Java 8 API and bytecode, so that an
 *       older JVM reads it and refuses in one line): the classes of ByteBuddy or of the agent's
 *       core are never named here, or the JVM fails to load the agent.</li>
 *   <li>The recorder, which instrumented JDK classes call, is defined in the boot class loader
 *       from the bytes in this jar ({@link BootClasses}); nothing else goes there.</li>
 *   <li>Everything else (ByteBuddy, py4j, the agent's core) loads in one class loader of the
 *       agent's own ({@link CoreLoader}), reading this jar in place: nothing is copied to disk,
 *       an application's own ByteBuddy or py4j never sees ours, and a later attach reuses it.</li>
 *   <li>At startup a failure prints one line and the application starts without the agent;
 *       on attach it is thrown back to whoever attached, with its reason.</li>
 * </ul>
 */
public final class AgentMain {
    private static final String CORE = "dev.unclosed.core.AgentCore";
    /** Why the last start failed, for whoever attached: the attach protocol returns only a code. */
    static final String ERROR_PROPERTY = "unclosed.error";
    private static final int OLDEST_JDK = 11;

    /** The core's class loader, made once for the JVM's life. */
    private static ClassLoader core;

    private AgentMain() {}

    public static void premain(String options, Instrumentation inst) {
        try {
            start(options, inst, "startup");
        } catch (Throwable t) {
            System.err.println("unclosed: agent not started: " + reason(t));
        }
    }

    public static void agentmain(String options, Instrumentation inst) throws Exception {
        try {
            start(options, inst, "attach");
        } catch (Throwable t) {
            System.setProperty(ERROR_PROPERTY, reason(t));
            throw new IllegalStateException(reason(t));
        }
    }

    /** {@code java -jar unclosed-agent.jar PID [options]}: see {@link Launcher}. */
    public static void main(String[] args) {
        System.exit(Launcher.run(args, agentJar(), System.out, System.err));
    }

    private static synchronized void start(String options, Instrumentation inst, String mode) throws Exception {
        System.clearProperty(ERROR_PROPERTY);
        int feature = javaFeature(System.getProperty("java.specification.version"));
        if (feature < OLDEST_JDK) {
            throw new IllegalStateException("JDK " + feature + " is not supported: unclosed needs JDK " + OLDEST_JDK + " or later");
        }
        if (core == null) {
            JarFile jar = new JarFile(agentJar());
            BootClasses.define(inst, jar);
            core = new CoreLoader(jar, agentJar(), ClassLoader.getSystemClassLoader().getParent());
        }
        core.loadClass(CORE).getMethod("start", Instrumentation.class, String.class, String.class)
                .invoke(null, inst, options == null ? "" : options, mode);
    }

    static File agentJar() {
        try {
            return new File(AgentMain.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        } catch (Exception e) {
            throw new IllegalStateException("cannot locate the agent jar: " + e);
        }
    }

    /** {@code 1.8} is 8, {@code 17} is 17. */
    static int javaFeature(String specification) {
        String s = specification == null ? "0" : specification.startsWith("1.") ? specification.substring(2) : specification;
        try {
            return Integer.parseInt(s.split("\\.")[0]);
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    /** One line: the cause's own words, not the reflection around it. */
    private static String reason(Throwable t) {
        while (t instanceof InvocationTargetException && t.getCause() != null) t = t.getCause();
        String message = t.getMessage();
        return message == null || message.isEmpty() ? t.toString() : message.replace('\n', ' ');
    }
}
