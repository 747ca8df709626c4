package dev.unclosed.agent;

import java.io.File;
import java.io.PrintStream;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.util.Properties;

/**
 * {@code java -jar unclosed-agent.jar PID [OPTIONS | detach]}: loads the agent into JVM PID with
 * the JDK's Attach API, for where the controller does not run (a container with a JDK and no
 * Python). It records into a data folder ({@code data=DIR}; default {@code /tmp/unclosed-data-PID})
 * that {@code unclosed check} and {@code unclosed report} read elsewhere. {@code detach} ends it,
 * with one last data file. Exit codes: 0 done, 1 an error (one line), 2 a usage error.
 */
final class Launcher {
    private static final String USAGE = "usage: java -jar unclosed-agent.jar PID [OPTIONS | detach]   "
            + "(OPTIONS: agent options, e.g. data=/tmp/leaks,sample=16; default data=/tmp/unclosed-data-PID)";

    private Launcher() {}

    static int run(String[] args, File agentJar, PrintStream out, PrintStream err) {
        if (args.length < 1 || args.length > 2 || !args[0].matches("[1-9][0-9]*")) {
            err.println(USAGE);
            return 2;
        }
        String pid = args[0];
        String options = args.length > 1 ? args[1] : "";
        boolean detach = options.equals("detach");
        if (!detach && !(options.startsWith("data=") || options.contains(",data="))) {
            options = "data=/tmp/unclosed-data-" + pid + (options.isEmpty() ? "" : "," + options);
        }
        try {
            Class<?> vmType = Class.forName("com.sun.tools.attach.VirtualMachine");
            Object vm = vmType.getMethod("attach", String.class).invoke(null, pid);
            try {
                try {
                    vmType.getMethod("loadAgent", String.class, String.class).invoke(vm, agentJar.getPath(), options);
                } catch (InvocationTargetException failed) {
                    String reason = agentError(vmType, vm, failed.getCause());
                    if (reason == null) throw failed;
                    err.println("unclosed: error: cannot load the agent into JVM " + pid + ": " + reason.replace('\n', ' '));
                    return 1;
                }
                Properties properties = (Properties) vmType.getMethod("getSystemProperties").invoke(vm);
                String dir = properties.getProperty("unclosed.dir");
                if (detach) out.println("unclosed: agent of JVM " + pid + " detached");
                else out.println("unclosed: recording JVM " + pid + " (" + options + "; agent folder " + dir + "); end with: "
                        + "java -jar " + agentJar.getName() + " " + pid + " detach");
            } finally {
                vmType.getMethod("detach").invoke(vm);
            }
            return 0;
        } catch (ClassNotFoundException e) {
            err.println("unclosed: error: this Java has no Attach API (module jdk.attach): run the launcher with a JDK's java");
        } catch (InvocationTargetException e) {
            Throwable cause = e.getCause();
            err.println("unclosed: error: cannot load the agent into JVM " + pid + ": " + cause.getClass().getSimpleName()
                    + (cause.getMessage() == null ? "" : ": " + cause.getMessage().replace('\n', ' ')));
        } catch (ReflectiveOperationException e) {
            err.println("unclosed: error: " + e);
        }
        return 1;
    }

    /**
     * Why the agent refused to start, as it left it in the target's system property
     * {@code unclosed.error} (the Attach API says only that it failed); null when the agent
     * did not run or the property cannot be read.
     */
    private static String agentError(Class<?> vmType, Object vm, Throwable failure) {
        if (failure == null || !failure.getClass().getSimpleName().equals("AgentInitializationException")) return null;
        try {
            Properties properties = (Properties) vmType.getMethod("getSystemProperties").invoke(vm);
            String reason = properties.getProperty(AgentMain.ERROR_PROPERTY);
            return reason == null || reason.isEmpty() ? null : reason;
        } catch (ReflectiveOperationException | RuntimeException e) {
            return null;
        }
    }
}
