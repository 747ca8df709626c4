package dev.unclosed.core;

import java.net.InetAddress;
import java.net.InetSocketAddress;

/** The agent's options, {@code name=value} separated by commas (see docs/protocol.md). */
final class Options {
    /** The agent's folder; default {@code ${java.io.tmpdir}/unclosed-<pid>}. */
    String dir;
    int depth = 24;
    int maxEvents = 250_000;
    int maxSites = 20_000;
    int maxTracked = 2_000_000;
    /** Track 1 object in this many; 1: every object. */
    int sample = 1;
    boolean control = true;
    /** Drain into this folder by itself (for JVMs no controller talks to). */
    String data;
    int flushSeconds = 2;
    /** Print a leak report to stderr at exit. */
    boolean reportAtExit;
    /** At exit, give the GC this long to reclaim what was dropped, so that leaks show as leaks. */
    int settleMs = 300;
    /** A rules file naming resources of the user's own to track. */
    String rules;
    /** Serve {@code /metrics} here (unresolved; the loopback address unless a host is given; port 0: any free one). */
    InetSocketAddress metrics;
    /** Stop tracking (an attach that only asks the running agent to detach). */
    boolean detach;

    static Options parse(String text) {
        Options o = new Options();
        if (text == null || text.trim().isEmpty()) return o;
        for (String part : text.split(",")) {
            int eq = part.indexOf('=');
            String name = eq < 0 ? part.trim() : part.substring(0, eq).trim();
            String value = eq < 0 ? "" : part.substring(eq + 1).trim();
            switch (name) {
                case "dir": o.dir = nonEmpty(name, value); break;
                case "depth": o.depth = positive(name, value); break;
                case "max_events": o.maxEvents = positive(name, value); break;
                case "max_sites": o.maxSites = positive(name, value); break;
                case "max_tracked": o.maxTracked = positive(name, value); break;
                case "sample": o.sample = positive(name, value); break;
                case "control": o.control = !"false".equals(value); break;
                case "data": o.data = nonEmpty(name, value); o.control = false; break;
                case "flush": o.flushSeconds = positive(name, value); break;
                case "report":
                    if (!value.equals("stderr") && !value.equals("none")) {
                        throw new IllegalArgumentException("agent option report takes stderr or none, not '" + value + "'");
                    }
                    o.reportAtExit = value.equals("stderr");
                    break;
                case "settle_ms": o.settleMs = positive(name, value); break;
                case "rules": o.rules = nonEmpty(name, value); break;
                case "metrics": o.metrics = hostAndPort(name, value); break;
                case "detach": o.detach = true; break;
                default: throw new IllegalArgumentException("unknown agent option '" + name + "'");
            }
        }
        return o;
    }

    private static String nonEmpty(String name, String value) {
        if (value.isEmpty()) throw new IllegalArgumentException("agent option " + name + " needs a value");
        return value;
    }

    /** {@code PORT} (on the loopback address), {@code HOST:PORT} or {@code [IPV6]:PORT}. */
    private static InetSocketAddress hostAndPort(String name, String value) {
        int colon = value.lastIndexOf(':');
        String host = colon < 0 ? InetAddress.getLoopbackAddress().getHostAddress() : value.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) host = host.substring(1, host.length() - 1);
        String port = value.substring(colon + 1);
        if (host.isEmpty() || !port.matches("[0-9]{1,5}") || Integer.parseInt(port) > 65535) {
            throw new IllegalArgumentException("agent option " + name + " takes PORT or HOST:PORT, not '" + value + "'");
        }
        return InetSocketAddress.createUnresolved(host, Integer.parseInt(port));
    }

    private static int positive(String name, String value) {
        try {
            int n = Integer.parseInt(value);
            if (n > 0) return n;
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw new IllegalArgumentException("agent option " + name + " needs a positive whole number, not '" + value + "'");
    }
}
