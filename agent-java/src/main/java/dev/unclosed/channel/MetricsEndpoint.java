package dev.unclosed.channel;

import dev.unclosed.boot.Recorder;
import dev.unclosed.io.AgentLog;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/**
 * Serves {@code GET /metrics} ({@link PrometheusText}) over a small HTTP/1.1 server of the
 * agent's own, not the JDK's {@code com.sun.net.httpserver}: that module is missing from some
 * runtimes (the Temurin runtimes on PyPI), and one code path is tested everywhere. One daemon
 * thread answers one connection at a time, each within a read timeout, then closes it.
 */
public final class MetricsEndpoint {
    private static final int BACKLOG = 16;
    private static final int READ_TIMEOUT_MS = 5_000;
    private static final int MAX_REQUEST_HEAD = 8 * 1024;
    private static final String PLAIN_TEXT = "text/plain; charset=utf-8";
    /** After a failed accept (out of file descriptors...), so that the loop does not spin. */
    private static final long ACCEPT_PAUSE_MS = 1_000;

    private final ServerSocket socket;

    private MetricsEndpoint(ServerSocket socket) {
        this.socket = socket;
    }

    /**
     * Listens on {@code asked} (unresolved; port 0: any free port) and starts serving. Fails with
     * a one-line reason when the host is unknown or the port taken.
     */
    public static MetricsEndpoint start(InetSocketAddress asked) throws IOException {
        ServerSocket socket = new ServerSocket();
        try {
            socket.bind(new InetSocketAddress(InetAddress.getByName(asked.getHostString()), asked.getPort()), BACKLOG);
        } catch (IOException e) {
            socket.close();
            throw new IOException("agent option metrics: cannot listen on " + asked.getHostString() + ":" + asked.getPort()
                    + ": " + e.getMessage());
        }
        MetricsEndpoint endpoint = new MetricsEndpoint(socket);
        Thread server = new Thread(endpoint::serve, "unclosed-metrics");
        server.setDaemon(true);
        server.start();
        return endpoint;
    }

    /** HOST:PORT where it listens, the port as bound. */
    public String address() {
        InetAddress host = socket.getInetAddress();
        String name = host.getHostAddress();
        return (host instanceof Inet6Address ? "[" + name + "]" : name) + ":" + socket.getLocalPort();
    }

    /** Stops listening; the serving thread ends. */
    public void stop() {
        try {
            socket.close();
        } catch (IOException e) {
            AgentLog.write("metrics: cannot close " + address() + ": " + e);
        }
    }

    private void serve() {
        Recorder.ignoreCurrentThread();
        while (true) {
            Socket client;
            try {
                client = socket.accept();
            } catch (IOException e) {
                if (socket.isClosed()) return;
                AgentLog.write("metrics: accept failed: " + e);
                try {
                    Thread.sleep(ACCEPT_PAUSE_MS);
                } catch (InterruptedException stop) {
                    return;
                }
                continue;
            }
            try (Socket c = client) {
                c.setSoTimeout(READ_TIMEOUT_MS);
                answer(c);
            } catch (IOException e) {
                // The client's doing (gone, too slow): nothing to tell.
            } catch (Throwable t) {
                Recorder.error(t);
                AgentLog.write("metrics: " + t);
            }
        }
    }

    private static void answer(Socket client) throws IOException {
        String[] request = requestLine(new BufferedInputStream(client.getInputStream(), 1024)).split(" ");
        OutputStream out = client.getOutputStream();
        if (request.length != 3 || !request[2].startsWith("HTTP/")) {
            respond(out, "400 Bad Request", PLAIN_TEXT, "", "bad request\n");
        } else if (!request[0].equals("GET")) {
            respond(out, "405 Method Not Allowed", PLAIN_TEXT, "Allow: GET\r\n", "only GET\n");
        } else if (!request[1].equals("/metrics") && !request[1].startsWith("/metrics?")) {
            respond(out, "404 Not Found", PLAIN_TEXT, "", "the metrics are at /metrics\n");
        } else {
            String body = PrometheusText.render(KindTotals.now(), Recorder.sample());
            respond(out, "200 OK", PrometheusText.CONTENT_TYPE, "", body);
        }
        client.shutdownOutput();
    }

    /**
     * The request's first line, once its whole head (to the empty line) is read; empty when
     * malformed, too long, or too slow in coming (a client trickling bytes keeps no one waiting).
     */
    private static String requestLine(InputStream in) throws IOException {
        byte[] head = new byte[MAX_REQUEST_HEAD];
        int length = 0;
        long deadline = System.nanoTime() + READ_TIMEOUT_MS * 1_000_000L;
        while (length < head.length && System.nanoTime() < deadline) {
            int b = in.read();
            if (b < 0) return "";
            head[length++] = (byte) b;
            if (b == '\n' && (endsWith(head, length, "\n\n") || endsWith(head, length, "\r\n\r\n"))) {
                String text = new String(head, 0, length, StandardCharsets.ISO_8859_1);
                return text.substring(0, text.indexOf('\n')).trim();
            }
        }
        return "";
    }

    private static boolean endsWith(byte[] bytes, int length, String suffix) {
        if (length < suffix.length()) return false;
        for (int i = 0; i < suffix.length(); i++) {
            if (bytes[length - suffix.length() + i] != suffix.charAt(i)) return false;
        }
        return true;
    }

    /** {@code headers}: more header lines, each ending in CRLF. */
    private static void respond(OutputStream out, String status, String contentType, String headers, String body)
            throws IOException {
        byte[] content = body.getBytes(StandardCharsets.UTF_8);
        String head = "HTTP/1.1 " + status + "\r\nContent-Type: " + contentType + "\r\n" + headers + "Content-Length: "
                + content.length + "\r\nConnection: close\r\n\r\n";
        out.write(head.getBytes(StandardCharsets.US_ASCII));
        out.write(content);
        out.flush();
    }
}
