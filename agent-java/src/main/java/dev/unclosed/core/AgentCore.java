package dev.unclosed.core;

import dev.unclosed.boot.Drain;
import dev.unclosed.boot.Recorder;
import dev.unclosed.channel.AgentControl;
import dev.unclosed.channel.ControlServer;
import dev.unclosed.channel.DataFiles;
import dev.unclosed.channel.DrainWriter;
import dev.unclosed.channel.Json;
import dev.unclosed.channel.ExitReport;
import dev.unclosed.channel.JmxBeans;
import dev.unclosed.channel.MetricsEndpoint;
import dev.unclosed.channel.Readers;
import dev.unclosed.channel.SessionFacts;
import dev.unclosed.instrument.Installer;
import dev.unclosed.instrument.RuleMatch;
import dev.unclosed.inventory.Inventory;
import dev.unclosed.io.AgentLog;
import dev.unclosed.io.PrivateFiles;
import dev.unclosed.rules.Rule;
import dev.unclosed.rules.RulesFile;
import java.io.IOException;
import java.lang.instrument.Instrumentation;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Collections;
import java.util.List;
import net.bytebuddy.agent.builder.AgentBuilder;
import net.bytebuddy.agent.builder.ResettableClassFileTransformer;

/**
 * The one place that wires the agent's parts together, for one tracking session: the
 * recorder, the instrumentation, the readers (control channel, data folder, exit report) and
 * what happens at exit and at detach. Loaded by the agent's own class loader, which stays for
 * the JVM's life: a later attach starts a new session with the same classes.
 */
public final class AgentCore {
    /** Set while an agent runs, so that the controller can find its folder through the Attach API. */
    public static final String DIR_PROPERTY = "unclosed.dir";
    /** Set while {@code /metrics} is served (option {@code metrics}): HOST:PORT, the port as bound. */
    public static final String METRICS_PROPERTY = "unclosed.metrics";

    private static AgentCore current;

    private final Instrumentation inst;
    private final Path dir;
    /** The folder's identity when this session took it: only that folder is ever deleted. */
    private final Object dirKey;
    private final Options options;
    private final SessionFacts facts;
    private final ResettableClassFileTransformer transformer;
    private final Readers readers = new Readers();
    private final Thread exitHook;
    /** Set once the control channel has started (on a thread of its own). */
    private volatile ControlServer server;
    /** Set (under the class's lock) when the JVM exits: no control file appears after that. */
    private boolean exiting;
    private DataFiles dataFiles;
    private MetricsEndpoint metrics;
    private JmxBeans jmx;

    private AgentCore(Instrumentation inst, Path dir, Object dirKey, Options options, SessionFacts facts,
            ResettableClassFileTransformer transformer) {
        this.inst = inst;
        this.dir = dir;
        this.dirKey = dirKey;
        this.options = options;
        this.facts = facts;
        this.transformer = transformer;
        this.exitHook = new Thread(this::atExit, "unclosed-exit");
    }

    /**
     * Starts a session ({@code mode}: startup or attach) with the agent's options; or, given the
     * option {@code detach}, ends the running one. Throws when it cannot start, with a reason
     * one line long (returned to whoever attached, or printed at startup).
     */
    public static synchronized void start(Instrumentation inst, String optionText, String mode) throws Exception {
        Options opts = Options.parse(optionText);
        if (opts.detach) {
            if (current != null) current.detach();
            return;
        }
        Path dir = agentFolder(opts.dir);
        Object dirKey = PrivateFiles.fileKey(dir);
        AgentLog.openIn(dir);
        if (Recorder.isTracking()) {
            AgentLog.write("already tracking since " + Recorder.trackingSinceMs() + "; nothing to do");
            return;
        }
        long startNanos = System.nanoTime();
        List<Rule> rules = opts.rules == null ? Collections.<Rule>emptyList() : RulesFile.read(opts.rules);
        Recorder.start(opts.depth, opts.maxEvents, opts.maxSites, opts.maxTracked, opts.sample);
        Recorder.beginAgentWork();
        MetricsEndpoint metrics = null;
        Installer.Installation installed = null;
        try {
            // Listening first: a port in use stops the agent before any class is changed.
            if (opts.metrics != null) metrics = MetricsEndpoint.start(opts.metrics);
            installed = Installer.install(inst, rules);
            long installedNanos = System.nanoTime();
            // Nothing below may fail half way: a data folder refused is refused before any thread starts.
            Path data = opts.data == null ? null : PrivateFiles.folder(Paths.get(opts.data), true);
            long trackingSince = Recorder.trackingActive();
            // Before any thread of the agent's does I/O: what it allocates would be counted.
            Inventory inventory = mode.equals("attach") ? Inventory.take(inst) : null;
            SessionFacts facts = new SessionFacts(mode, trackingSince, opts.sample, inventory);
            AgentCore core = new AgentCore(inst, dir, dirKey, opts, facts, installed.transformer);
            List<RuleMatch> matches = installed.rules;
            if (opts.control) core.startControl(new AgentControl(facts, dir, core.readers, () -> rulesJson(matches), core::detach));
            if (data != null) core.dataFiles = DataFiles.start(data, facts, opts.flushSeconds);
            Runtime.getRuntime().addShutdownHook(core.exitHook);
            core.metrics = metrics;
            core.jmx = JmxBeans.start();
            current = core;
            System.setProperty(DIR_PROPERTY, dir.toString());
            if (metrics != null) System.setProperty(METRICS_PROPERTY, metrics.address());
            AgentLog.write("tracking started (" + mode + ") in " + (installedNanos - startNanos) / 1_000_000 + " ms, ready in "
                    + (System.nanoTime() - startNanos) / 1_000_000 + " ms"
                    + (opts.sample > 1 ? ", sampling 1 in " + opts.sample : "")
                    + (rules.isEmpty() ? "" : " with " + rules.size() + " rule(s) from " + opts.rules)
                    + (metrics == null ? "" : "; metrics at http://" + metrics.address() + "/metrics"));
            if (inventory != null) {
                AgentLog.write("inventory: " + inventory.summary());
                for (Inventory.Note note : inventory.notes) AgentLog.write("inventory: " + note.family + ": " + note.text);
            }
        } catch (Throwable t) {
            // Undo what was done, in reverse, so that the JVM runs on as if the agent never came.
            if (installed != null) installed.transformer.reset(inst, AgentBuilder.RedefinitionStrategy.RETRANSFORMATION);
            if (metrics != null) metrics.stop();
            Recorder.stop();
            AgentLog.write("not started: " + t);
            PrivateFiles.deleteFolder(dir, dirKey);
            throw t instanceof Exception ? (Exception) t : new IllegalStateException(t);
        } finally {
            Recorder.endAgentWork();
        }
    }

    /**
     * Starts the control channel on a thread of its own: tracking is on already, and whoever
     * attached need not wait for py4j (it waits for the control file instead). The control file
     * is written only while this session runs: after a detach the folder may be another's.
     */
    private void startControl(AgentControl control) {
        Thread starter = new Thread(() -> {
            Recorder.ignoreCurrentThread();
            try {
                ControlServer started = ControlServer.start(control);
                synchronized (AgentCore.class) {
                    if (current == this && !exiting) {
                        started.publish(dir);
                        server = started;
                    } else {
                        started.stopSoon();
                    }
                }
            } catch (Throwable t) {
                AgentLog.write("control channel not started: " + t);
            }
        }, "unclosed-control-start");
        starter.setDaemon(true);
        starter.start();
    }

    /** How each rule matched, for whoever attached with it: {@code [{"class", "loaded", "problems"}]}. */
    private static String rulesJson(List<RuleMatch> rules) {
        StringBuilder json = new StringBuilder("[");
        for (RuleMatch match : rules) {
            if (json.length() > 1) json.append(", ");
            json.append("{\"class\": ").append(Json.quote(match.rule.className)).append(", \"loaded\": ").append(match.loaded())
                    .append(", \"problems\": [");
            List<String> problems = match.problems();
            for (int i = 0; i < problems.size(); i++) json.append(i > 0 ? ", " : "").append(Json.quote(problems.get(i)));
            json.append("]}");
        }
        return json.append(']').toString();
    }

    /**
     * The agent's folder: the one asked for (refused unless it is this user's alone), or
     * {@code ${java.io.tmpdir}/unclosed-<pid>}; when that name is taken by a folder that is not
     * provably ours (another user may have made it), a fresh private one beside it.
     */
    private static Path agentFolder(String asked) throws IOException {
        if (asked != null) return PrivateFiles.folder(Paths.get(asked), false);
        Path tmp = Paths.get(System.getProperty("java.io.tmpdir"));
        String name = "unclosed-" + SessionFacts.currentPid();
        try {
            return PrivateFiles.folder(tmp.resolve(name), false);
        } catch (IOException e) {
            return PrivateFiles.freshFolder(tmp, name);
        }
    }

    /**
     * At exit: lets the GC reclaim what the application dropped (bounded, so that exit is never
     * held up for long), then leaves the last data where its reader finds it: the data folder,
     * the exit file of a controller recording now, the report. With none of those, the agent's
     * folder goes.
     */
    private void atExit() {
        Recorder.ignoreCurrentThread();
        synchronized (AgentCore.class) {
            exiting = true;
        }
        try {
            if (!Recorder.isTracking()) return;
            boolean forRecorder = server != null && readers.reading();
            if (dataFiles != null || options.reportAtExit || forRecorder) settle();
            if (dataFiles != null) dataFiles.write(true);
            if (forRecorder) {
                Drain drain = Recorder.drain(readers.sitesKnown(), readers.threadsKnown(), readers.testsKnown(), 0);
                if (drain != null) DrainWriter.writeFile(dir, DrainWriter.EXIT_FILE, drain, facts, true);
            }
            if (options.reportAtExit) ExitReport.print(Recorder.totals(), facts.sample, System.err);
            if (!forRecorder) PrivateFiles.deleteFolder(dir, dirKey);
        } catch (Throwable t) {
            AgentLog.write("at exit: " + t);
        }
    }

    private void settle() throws InterruptedException {
        long deadline = System.currentTimeMillis() + options.settleMs;
        System.gc();
        // The reaper takes reclaimed objects off the queue; give it a moment to do so.
        while (System.currentTimeMillis() < deadline) Thread.sleep(20);
    }

    /**
     * Restores the original classes, stops tracking and deletes the folder, all before another
     * attach may start (it may take the same folder name); the control server closes last, once
     * it has sent this answer.
     */
    private void detach() {
        synchronized (AgentCore.class) {
            if (current != this) return;
            current = null;
            try {
                Runtime.getRuntime().removeShutdownHook(exitHook);
            } catch (IllegalStateException exiting) {
                return; // the JVM exits: the exit hook does the rest
            }
            transformer.reset(inst, AgentBuilder.RedefinitionStrategy.RETRANSFORMATION);
            jmx.stop();
            if (metrics != null) {
                metrics.stop();
                System.clearProperty(METRICS_PROPERTY);
            }
            if (dataFiles != null) {
                dataFiles.stop();
                dataFiles.write(false);
            }
            Recorder.stop();
            AgentLog.write("detached");
            if (server != null) server.stopSoon();
            PrivateFiles.deleteFolder(dir, dirKey);
            System.clearProperty(DIR_PROPERTY);
        }
    }
}
