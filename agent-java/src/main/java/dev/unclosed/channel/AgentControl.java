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
        // One walk over the sites gives both the families and, summed, the bytes held.
        long bytesHeld = 0;
        StringBuilder families = new StringBuilder("{");
        for (Map.Entry<String, long[]> family : Recorder.heldByFamily().entrySet()) {
            if (families.length() > 1) families.append(", ");
            families.append(quote(family.getKey())).append(": {\"held\": ").append(family.getValue()[0])
                    .append(", \"bytes_held\": ").append(family.getValue()[1]).append('}');
            bytesHeld += family.getValue()[1];
        }
        families.append('}');
        return "{\"pid\": " + f.get("pid") + ", \"mode\": " + quote(core.mode()) + ", \"tracking_since_ms\": "
                + Recorder.trackingSinceMs() + ", \"java_version\": " + quote(f.get("java_version")) + ", \"java_vendor\": "
                + quote(f.get("java_vendor")) + ", \"main_class\": " + quote(f.get("main_class")) + ", \"held\": " + s[0]
                + ", \"pending_events\": " + s[1] + ", \"dropped_events\": " + s[2] + ", \"errors\": " + s[3]
                + ", \"bytes_held\": " + bytesHeld + ", \"sample\": " + Recorder.sample() + ", \"families\": " + families + "}";
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
