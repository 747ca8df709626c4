package dev.unclosed.core;

import dev.unclosed.boot.Recorder;
import dev.unclosed.channel.AgentControl;
import dev.unclosed.channel.ControlServer;
import dev.unclosed.instrument.Installer;
import java.io.File;
import java.lang.instrument.Instrumentation;
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
        Options opts = Options.parse(options);
        Recorder.start(opts.depth, opts.maxEvents, opts.maxSites, opts.maxTracked);
        try {
            AgentCore core = new AgentCore(inst, dir, mode, Installer.install(inst));
            if (opts.control) core.server = ControlServer.start(dir, new AgentControl(core));
            current = core;
            System.setProperty(DIR_PROPERTY, dir.getPath());
            AgentLog.write("tracking started (" + mode + ")");
        } catch (Throwable t) {
            Recorder.stop();
            throw t instanceof Exception ? (Exception) t : new IllegalStateException(t);
        }
    }

    public String mode() {
        return mode;
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
