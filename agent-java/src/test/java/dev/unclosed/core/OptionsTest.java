package dev.unclosed.core;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;

import java.net.InetSocketAddress;
import org.junit.Test;

public class OptionsTest {
    private static String metrics(String value) {
        InetSocketAddress a = Options.parse("control=false,metrics=" + value).metrics;
        return a.getHostString() + " " + a.getPort();
    }

    @Test
    public void metricsListensOnLoopbackUnlessAHostIsGiven() {
        assertNull(Options.parse("control=false").metrics);
        assertEquals("127.0.0.1 9464", metrics("9464"));
        assertEquals("0.0.0.0 9464", metrics("0.0.0.0:9464"));
        assertEquals("localhost 0", metrics("localhost:0"));
        assertEquals("::1 9464", metrics("[::1]:9464"));
    }

    @Test
    public void aBadMetricsValueIsOneLineNamingIt() {
        for (String bad : new String[] {"", "abc", "host:", ":9464", "65536", "1.2.3.4:-1", "9464x"}) {
            try {
                Options.parse("metrics=" + bad);
                throw new AssertionError("accepted metrics=" + bad);
            } catch (IllegalArgumentException e) {
                assertEquals("agent option metrics takes PORT or HOST:PORT, not '" + bad + "'", e.getMessage());
            }
        }
    }
}
