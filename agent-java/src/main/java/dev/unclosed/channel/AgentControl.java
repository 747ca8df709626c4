package dev.unclosed.channel;

import dev.unclosed.boot.Drain;
import dev.unclosed.boot.Recorder;
import dev.unclosed.core.AgentCore;
import java.io.File;
import java.util.Map;

/** The py4j entry point: what the controller may ask of the agent. Answers are short JSON text. */
public final class AgentControl {
    private final AgentCore core;

    public AgentControl(AgentCore core) {
        this.core = core;
    }

    public String version() {
        return AgentCore.VERSION;
    }

    public String status() {
        Recorder.ignoreCurrentThread();
        long[] s = Recorder.status();
        Map<String, String> f = core.facts();
        return "{\"pid\": " + f.get("pid") + ", \"mode\": " + quote(core.mode()) + ", \"tracking_since_ms\": "
                + Recorder.trackingSinceMs() + ", \"java_version\": " + quote(f.get("java_version")) + ", \"java_vendor\": "
                + quote(f.get("java_vendor")) + ", \"main_class\": " + quote(f.get("main_class")) + ", \"held\": " + s[0]
                + ", \"pending_events\": " + s[1] + ", \"dropped_events\": " + s[2] + ", \"errors\": " + s[3] + ", \"bytes_held\": " + s[4] + ", \"sample\": " + Recorder.sample()
                + ", \"families\": " + families() + "}";
    }

    /** {"zlib": {"held": n, "bytes_held": n}, ...} */
    private static String families() {
        StringBuilder b = new StringBuilder("{");
        for (Map.Entry<String, long[]> f : Recorder.heldByFamily().entrySet()) {
            if (b.length() > 1) b.append(", ");
            b.append(quote(f.getKey())).append(": {\"held\": ").append(f.getValue()[0]).append(", \"bytes_held\": ")
                    .append(f.getValue()[1]).append('}');
        }
        return b.append('}').toString();
    }

    /** Writes everything new to {@code path}; one drain at a time. */
    public synchronized String drain(String path) throws Exception {
        Recorder.ignoreCurrentThread();
        Drain drain = Recorder.drain();
        if (drain == null) throw new IllegalStateException("the agent is not tracking (detached)");
        File file = new File(path);
        int events = DrainWriter.write(file, drain, core.facts(), false);
        return "{\"events\": " + events + ", \"sites\": " + drain.newSites.size() + ", \"bytes\": " + file.length() + "}";
    }

    public String detach() {
        Recorder.ignoreCurrentThread();
        core.detach();
        return "{\"detached\": true}";
    }

    static String quote(String s) {
        if (s == null) return "null";
        StringBuilder b = new StringBuilder(s.length() + 2).append('"');
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') b.append('\\').append(c);
            else if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
            else b.append(c);
        }
        return b.append('"').toString();
    }
}
