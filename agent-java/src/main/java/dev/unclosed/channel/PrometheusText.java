package dev.unclosed.channel;

import java.util.List;
import java.util.function.ToLongFunction;

/** The kinds' totals in Prometheus' text exposition format, version 0.0.4: what {@code /metrics} serves. */
final class PrometheusText {
    static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

    private static final Metric[] METRICS = {
        new Metric("unclosed_opened_total", "counter", "Tracked resources opened since tracking began.", k -> k.opened),
        new Metric("unclosed_released_total", "counter",
                "Tracked resources released: by their owner (end(), close()), or freed by the JVM after a GC (direct buffers).",
                k -> k.released),
        new Metric("unclosed_leaked_total", "counter", "Tracked resources the GC reclaimed without a release.", k -> k.leaked),
        new Metric("unclosed_leaked_bytes_total", "counter", "Estimated native bytes of the leaked resources.", k -> k.bytesLeaked),
        new Metric("unclosed_held", "gauge", "Tracked resources open now.", k -> k.held),
        new Metric("unclosed_held_bytes", "gauge", "Estimated native bytes of the resources open now.", k -> k.bytesHeld),
    };

    private PrometheusText() {}

    /** {@code sample}: 1 in how many objects is tracked; every count is of tracked objects only. */
    static String render(List<KindTotals> kinds, int sample) {
        StringBuilder text = new StringBuilder(256 + kinds.size() * METRICS.length * 96);
        for (Metric m : METRICS) {
            header(text, m.name, m.type, m.help);
            for (KindTotals k : kinds) {
                text.append(m.name).append("{kind=\"").append(escapeLabel(k.kind)).append("\",family=\"")
                        .append(escapeLabel(k.family)).append("\"} ").append(m.value.applyAsLong(k)).append('\n');
            }
        }
        header(text, "unclosed_sample", "gauge", "1 in how many resources is tracked (1: every one); the counts are of tracked ones.");
        return text.append("unclosed_sample ").append(sample).append('\n').toString();
    }

    private static void header(StringBuilder text, String name, String type, String help) {
        text.append("# HELP ").append(name).append(' ').append(help).append('\n');
        text.append("# TYPE ").append(name).append(' ').append(type).append('\n');
    }

    /** A label value's backslashes, double quotes and line feeds, escaped as the format wants. */
    static String escapeLabel(String value) {
        StringBuilder b = new StringBuilder(value.length() + 8);
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c == '\\') b.append("\\\\");
            else if (c == '"') b.append("\\\"");
            else if (c == '\n') b.append("\\n");
            else b.append(c);
        }
        return b.toString();
    }

    private static final class Metric {
        final String name;
        final String type;
        final String help;
        final ToLongFunction<KindTotals> value;

        Metric(String name, String type, String help, ToLongFunction<KindTotals> value) {
            this.name = name;
            this.type = type;
            this.help = help;
            this.value = value;
        }
    }
}
