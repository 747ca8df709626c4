package dev.unclosed.channel;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.util.Arrays;
import java.util.Collections;
import org.junit.Test;

public class PrometheusTextTest {
    @Test
    public void labelValuesEscapeBackslashQuoteAndLineFeedOnly() {
        assertEquals("a\\\\b\\\"c\\nd\te$", PrometheusText.escapeLabel("a\\b\"c\nd\te$"));
    }

    @Test
    public void eachMetricHasItsHelpAndTypeThenOneSeriesPerKind() {
        KindTotals gzip = new KindTotals("java.util.zip.GZIPOutputStream", "zlib");
        gzip.opened = 12;
        gzip.released = 2;
        gzip.leaked = 7;
        gzip.held = 3;
        gzip.bytesLeaked = 1878016;
        gzip.bytesHeld = 804864;
        KindTotals odd = new KindTotals("odd\"kind\\\n", "x");
        String text = PrometheusText.render(Arrays.asList(gzip, odd), 16);
        String[] lines = text.split("\n", -1);
        assertEquals("# HELP unclosed_opened_total Tracked resources opened since tracking began.", lines[0]);
        assertEquals("# TYPE unclosed_opened_total counter", lines[1]);
        assertEquals("unclosed_opened_total{kind=\"java.util.zip.GZIPOutputStream\",family=\"zlib\"} 12", lines[2]);
        assertEquals("unclosed_opened_total{kind=\"odd\\\"kind\\\\\\n\",family=\"x\"} 0", lines[3]);
        assertTrue(text.contains("\n# TYPE unclosed_released_total counter\nunclosed_released_total{kind=\"java.util.zip.GZIPOutputStream\",family=\"zlib\"} 2\n"));
        assertTrue(text.contains("\nunclosed_leaked_total{kind=\"java.util.zip.GZIPOutputStream\",family=\"zlib\"} 7\n"));
        assertTrue(text.contains("\nunclosed_leaked_bytes_total{kind=\"java.util.zip.GZIPOutputStream\",family=\"zlib\"} 1878016\n"));
        assertTrue(text.contains("\n# TYPE unclosed_held gauge\nunclosed_held{kind=\"java.util.zip.GZIPOutputStream\",family=\"zlib\"} 3\n"));
        assertTrue(text.contains("\n# TYPE unclosed_held_bytes gauge\nunclosed_held_bytes{kind=\"java.util.zip.GZIPOutputStream\",family=\"zlib\"} 804864\n"));
        assertTrue(text.endsWith("\n# TYPE unclosed_sample gauge\nunclosed_sample 16\n"));
        assertEquals("6 metrics x (help, type, 2 kinds) + the sample's 3 + the final empty", 6 * 4 + 3 + 1, lines.length);
    }

    @Test
    public void withNoKindYetOnlyTheHeadersAndTheSample() {
        String text = PrometheusText.render(Collections.<KindTotals>emptyList(), 1);
        assertEquals(6 * 2 + 3, text.split("\n").length);
        assertTrue(text.endsWith("unclosed_sample 1\n"));
    }
}
