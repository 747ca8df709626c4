package dev.unclosed.channel;

import static dev.unclosed.channel.ReadOnlyBean.attribute;

import dev.unclosed.boot.Recorder;
import dev.unclosed.io.AgentLog;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import javax.management.JMException;
import javax.management.MBeanAttributeInfo;
import javax.management.MBeanServer;
import javax.management.MBeanServerFactory;
import javax.management.MalformedObjectNameException;
import javax.management.ObjectName;

/**
 * The agent's MBeans in the platform MBean server: {@code dev.unclosed:type=Agent}, and
 * {@code dev.unclosed:type=Resources,kind=KIND} for each kind as it first appears (checked every
 * few seconds by a daemon thread). Only once something else created the platform server (the
 * application, the JDK's JMX agent, jmx_exporter): creating it takes a fifth of a second here
 * and registers the JVM's own MXBeans, which is not the agent's to spend in someone else's JVM,
 * and until something creates it no one reads MBeans anyway. Unregistered at detach.
 */
public final class JmxBeans {
    static final String DOMAIN = "dev.unclosed";
    private static final long REFRESH_MS = 5_000;
    /** Characters an ObjectName value cannot hold unquoted (or would read as a pattern). */
    private static final Pattern NEEDS_QUOTES = Pattern.compile("[,=:\"*?\\\\\n]");

    private static final MBeanAttributeInfo[] KIND_ATTRIBUTES = {
        attribute("Opened", long.class, "Opened since tracking began"),
        attribute("Released", long.class, "Released by their owner, or freed by the JVM after a GC (direct buffers)"),
        attribute("Leaked", long.class, "Reclaimed by the GC without a release"),
        attribute("Held", long.class, "Open now"),
        attribute("BytesLeaked", long.class, "Estimated native bytes of the leaked ones"),
        attribute("BytesHeld", long.class, "Estimated native bytes of those open now"),
        attribute("Sample", int.class, "1 in how many is tracked (1: every one); the counts are of tracked ones"),
        attribute("Family", String.class, "The family of the kind: zlib, direct, actor, or a rule's"),
    };
    private static final MBeanAttributeInfo[] AGENT_ATTRIBUTES = {
        attribute("Version", String.class, "The agent's version"),
        attribute("TrackingSinceMs", long.class, "When tracking began, in ms since the epoch: older objects are not known"),
        attribute("Sample", int.class, "1 in how many objects is tracked (1: every one)"),
        attribute("DroppedObjects", long.class, "Objects not tracked because max_tracked were tracked: the counts miss them"),
        attribute("DroppedSites", long.class, "Stacks past max_sites, counted in one overflow site of their kind"),
        attribute("DroppedEvents", long.class, "Events no reader drained in time (the counts stay exact)"),
        attribute("Errors", long.class, "Errors the agent caught"),
        attribute("InstrumentationErrors", long.class, "Classes the agent could not instrument"),
    };

    private final Set<String> kinds = new HashSet<>();
    private final List<ObjectName> registered = new ArrayList<>();
    private MBeanServer server;
    private boolean stopped;
    private Thread refresher;

    private JmxBeans() {}

    public static JmxBeans start() {
        JmxBeans beans = new JmxBeans();
        beans.refresher = new Thread(beans::refreshEvery, "unclosed-jmx");
        beans.refresher.setDaemon(true);
        beans.refresher.start();
        return beans;
    }

    /** Unregisters every MBean of the agent's, and stops looking for new kinds. */
    public synchronized void stop() {
        stopped = true;
        refresher.interrupt();
        for (ObjectName name : registered) {
            try {
                server.unregisterMBean(name);
            } catch (JMException | RuntimeException e) {
                AgentLog.write("jmx: cannot unregister " + name + ": " + e);
            }
        }
        registered.clear();
    }

    private void refreshEvery() {
        Recorder.ignoreCurrentThread();
        try {
            while (refresh()) Thread.sleep(REFRESH_MS);
        } catch (InterruptedException e) {
            // stopped
        }
    }

    /** False once stopped. */
    private synchronized boolean refresh() {
        if (stopped) return false;
        try {
            if (server == null) {
                server = platformServerIfCreated();
                if (server == null) return true;
                register(new ObjectName(DOMAIN + ":type=Agent"), agentBean());
            }
            for (KindTotals k : KindTotals.now()) {
                // Tried once: a name someone else registered is not fought over every few seconds.
                if (kinds.add(k.kind)) register(kindName(k.kind), kindBean(k.kind));
            }
        } catch (JMException | RuntimeException e) {
            Recorder.error(e);
            AgentLog.write("jmx: " + e);
        }
        return true;
    }

    private void register(ObjectName name, ReadOnlyBean bean) throws JMException {
        server.registerMBean(bean, name);
        registered.add(name);
    }

    /** The platform MBean server if it exists (it is the one holding the runtime's MXBean), else null. */
    private static MBeanServer platformServerIfCreated() throws MalformedObjectNameException {
        ObjectName runtime = new ObjectName(ManagementFactory.RUNTIME_MXBEAN_NAME);
        for (MBeanServer s : MBeanServerFactory.findMBeanServer(null)) {
            if (s.isRegistered(runtime)) return ManagementFactory.getPlatformMBeanServer();
        }
        return null;
    }

    /** The key {@code type} first, as JMX clients and jmx_exporter's rules show it. */
    static ObjectName kindName(String kind) throws MalformedObjectNameException {
        return new ObjectName(DOMAIN + ":type=Resources,kind=" + (NEEDS_QUOTES.matcher(kind).find() ? ObjectName.quote(kind) : kind));
    }

    private static ReadOnlyBean kindBean(String kind) {
        return new ReadOnlyBean("Resources of kind " + kind + " tracked by unclosed", KIND_ATTRIBUTES, () -> {
            KindTotals t = new KindTotals(kind, "");
            for (KindTotals k : KindTotals.now()) {
                if (k.kind.equals(kind)) t = k;
            }
            Map<String, Object> values = new LinkedHashMap<>();
            values.put("Opened", t.opened);
            values.put("Released", t.released);
            values.put("Leaked", t.leaked);
            values.put("Held", t.held);
            values.put("BytesLeaked", t.bytesLeaked);
            values.put("BytesHeld", t.bytesHeld);
            values.put("Sample", Recorder.sample());
            values.put("Family", t.family);
            return values;
        });
    }

    private static ReadOnlyBean agentBean() {
        return new ReadOnlyBean("The unclosed agent", AGENT_ATTRIBUTES, () -> {
            Recorder.Status s = Recorder.status();
            Map<String, Object> values = new LinkedHashMap<>();
            values.put("Version", SessionFacts.AGENT_VERSION);
            values.put("TrackingSinceMs", Recorder.trackingSinceMs());
            values.put("Sample", Recorder.sample());
            values.put("DroppedObjects", s.droppedObjects);
            values.put("DroppedSites", s.droppedSites);
            values.put("DroppedEvents", s.droppedEvents);
            values.put("Errors", s.errors);
            values.put("InstrumentationErrors", s.instrumentationErrors);
            return values;
        });
    }
}
