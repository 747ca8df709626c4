package dev.unclosed.channel;

import dev.unclosed.boot.Recorder;
import dev.unclosed.io.AgentLog;
import dev.unclosed.io.PrivateFiles;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.concurrent.TimeUnit;
import javax.net.SocketFactory;
import py4j.CallbackClient;
import py4j.GatewayServer;

/**
 * The py4j control server: loopback only, a random port, a random token in a file only the
 * JVM's user can read (whoever holds it can run code in the JVM: py4j gives reflection). All
 * its threads are daemons, so the JVM exits exactly as it would without it.
 */
public final class ControlServer {
    private static final String CONTROL_FILE = "control";

    private final GatewayServer server;
    private final String token;

    private ControlServer(GatewayServer server, String token) {
        this.server = server;
        this.token = token;
    }

    /** Starts listening; nobody can connect before {@link #publish}. */
    public static ControlServer start(AgentControl control) throws Exception {
        GatewayServer.turnLoggingOff();
        byte[] secret = new byte[24];
        new SecureRandom().nextBytes(secret);
        StringBuilder token = new StringBuilder();
        for (byte b : secret) token.append(String.format("%02x", b & 0xff));
        InetAddress loopback = InetAddress.getLoopbackAddress();
        // No periodic cleaner (minConnectionTime 0): py4j's default starts a non-daemon thread.
        CallbackClient callbacks = new CallbackClient(GatewayServer.DEFAULT_PYTHON_PORT, loopback, token.toString(), 0,
                TimeUnit.SECONDS, SocketFactory.getDefault(), false, 0);
        GatewayServer server = new GatewayServer.GatewayServerBuilder(control).javaPort(0).javaAddress(loopback)
                .authToken(token.toString()).callbackClient(callbacks).build();
        // Started from a daemon thread, so that py4j's connection threads are daemons too.
        // Its connection threads inherit its exemption: the direct buffers their socket reads take are ours.
        Thread accept = new Thread(() -> {
            Recorder.ignoreCurrentThread();
            server.start(false);
        }, "unclosed-control");
        accept.setDaemon(true);
        accept.start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (server.getListeningPort() <= 0) {
            if (System.nanoTime() > deadline || !accept.isAlive()) throw new IOException("control server did not start");
            Thread.sleep(5);
        }
        return new ControlServer(server, token.toString());
    }

    /** Writes the control file (port and token) into {@code dir}, the agent's folder: whoever reads it may connect. */
    public void publish(Path dir) throws IOException {
        byte[] line = (server.getListeningPort() + " " + token + "\n").getBytes(StandardCharsets.US_ASCII);
        PrivateFiles.writeAtomically(dir, CONTROL_FILE, out -> out.write(line));
    }

    /**
     * Stops after the current answer (a detach's) has been sent. The control file is not this
     * method's: it goes with the agent's folder, which the caller deletes at once.
     */
    public void stopSoon() {
        Thread stopper = new Thread(() -> {
            try {
                Thread.sleep(200);
                server.shutdown();
            } catch (Throwable t) {
                AgentLog.write("control server shutdown: " + t);
            }
        }, "unclosed-control-stop");
        stopper.setDaemon(true);
        stopper.start();
    }
}
