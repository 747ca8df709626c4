package dev.unclosed.core;

import dev.unclosed.boot.Drain;
import dev.unclosed.boot.Recorder;
import dev.unclosed.channel.AgentControl;
import dev.unclosed.channel.ControlServer;
import dev.unclosed.channel.DataFiles;
import dev.unclosed.channel.ExitReport;
import dev.unclosed.instrument.Installer;
import java.io.File;
import java.lang.instrument.Instrumentation;
import java.lang.management.ManagementFactory;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import net.bytebuddy.agent.builder.ResettableClassFileTransformer;

/**
 * Starts and stops one tracking session: the recorder, the instrumentation, the control
 * channel. Loaded by the agent's own class loader; the premain calls {@link #start}.
 */
public final class AgentCore {
    public static final String VERSION = "0.1.0";
    /** Set while an agent runs, so that the controller can find it through the Attach API. */
    public static final String DIR_PROPERTY = "unclosed.dir";

    private static AgentCore current;

    private final Instrumentation inst;
    private final File dir;
    private final String mode;
    private final ResettableClassFileTransformer transformer;
    private ControlServer server;
    private DataFiles dataFiles;

    private AgentCore(Instrumentation inst, File dir, String mode, ResettableClassFileTransformer transformer) {
        this.inst = inst;
        this.dir = dir;
        this.mode = mode;
        this.transformer = transformer;
    }

    public static synchronized void start(Instrumentation inst, String options, String mode, File dir) throws Exception {
        AgentLog.openIn(dir);
        if (Recorder.isTracking()) {
            AgentLog.write("already tracking since " + Recorder.trackingSinceMs() + "; nothing to do");
            return;
        }
        long startNanos = System.nanoTime();
        Options opts = Options.parse(options);
        List<Rule> rules = opts.rules == null ? Collections.<Rule>emptyList() : RulesFile.read(opts.rules);
        Recorder.start(opts.depth, opts.maxEvents, opts.maxSites, opts.maxTracked, opts.sample);
        Recorder.quietCurrentThread(true);
        try {
            AgentCore core = new AgentCore(inst, dir, mode, Installer.install(inst, rules));
            if (opts.control) core.server = ControlServer.start(dir, new AgentControl(core));
            if (opts.data != null) core.dataFiles = DataFiles.start(new File(opts.data), core, opts.flushSeconds);
            if (opts.data != null || opts.reportAtExit) {
                Thread hook = new Thread(() -> core.atExit(opts.settleMs, opts.reportAtExit), "unclosed-exit");
                Runtime.getRuntime().addShutdownHook(hook);
            }
            current = core;
            System.setProperty(DIR_PROPERTY, dir.getPath());
            AgentLog.write("tracking started (" + mode + ") in " + (System.nanoTime() - startNanos) / 1_000_000 + " ms"
                    + (opts.sample > 1 ? ", sampling 1 in " + opts.sample : "") + (rules.isEmpty() ? "" : " with " + rules.size() + " rule(s) from " + opts.rules));
        } catch (Throwable t) {
            Recorder.stop();
            throw t instanceof Exception ? (Exception) t : new IllegalStateException(t);
        } finally {
            Recorder.quietCurrentThread(false);
        }
    }

    public String mode() {
        return mode;
    }

    /** Facts about this JVM and session, the {@code J} records of a drain file. */
    public Map<String, String> facts() {
        Map<String, String> f = new LinkedHashMap<>();
        f.put("pid", ManagementFactory.getRuntimeMXBean().getName().split("@")[0]);
        f.put("java_version", System.getProperty("java.version"));
        f.put("java_vendor", System.getProperty("java.vendor"));
        f.put("java_home", System.getProperty("java.home"));
        f.put("main_class", mainClass(System.getProperty("sun.java.command", "")));
        f.put("mode", mode);
        f.put("tracking_since_ms", Long.toString(Recorder.trackingSinceMs()));
        f.put("agent_version", VERSION);
        f.put("sample", Integer.toString(Recorder.sample()));
        return f;
    }

    /**
     * At exit: lets the GC reclaim what the application dropped (bounded, so that exit is never
     * held up for long), then writes the last data file and the report.
     */
    private void atExit(int settleMs, boolean report) {
        Recorder.ignoreCurrentThread();
        try {
            if (!Recorder.isTracking()) return;
            long deadline = System.currentTimeMillis() + settleMs;
            System.gc();
            // The reaper takes reclaimed objects off the queue; give it a moment to do so.
            while (System.currentTimeMillis() < deadline) Thread.sleep(20);
            Drain drain = Recorder.drain();
            if (drain == null) return;
            if (dataFiles != null) dataFiles.write(drain, true);
            if (report) ExitReport.print(drain, System.err);
        } catch (Throwable t) {
            AgentLog.write("at exit: " + t);
        }
    }

    /** The main class, or the source file when the JDK's source launcher runs one. */
    static String mainClass(String command) {
        String[] words = command.trim().split("\\s+");
        boolean launcher = words[0].contains("com.sun.tools.javac.launcher.");
        return launcher && words.length > 1 ? words[1] : words[0];
    }

    /** Restores the original classes and stops tracking; the control server closes last. */
    public void detach() {
        synchronized (AgentCore.class) {
            if (current != this) return;
            current = null;
            transformer.reset(inst, net.bytebuddy.agent.builder.AgentBuilder.RedefinitionStrategy.RETRANSFORMATION);
            Recorder.stop();
            System.clearProperty(DIR_PROPERTY);
            AgentLog.write("detached");
        }
        if (server != null) server.stopSoon();
    }
}
