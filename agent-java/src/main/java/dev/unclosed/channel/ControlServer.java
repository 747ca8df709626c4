package dev.unclosed.channel;

import dev.unclosed.boot.Recorder;
import dev.unclosed.core.AgentLog;
import java.io.File;
import java.io.IOException;
import java.io.Writer;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.concurrent.TimeUnit;
import javax.net.SocketFactory;
import py4j.CallbackClient;
import py4j.GatewayServer;

/**
 * The py4j control server: loopback only, a random port, a random token in a file only the
 * owner can read. All its threads are daemons, so the JVM exits exactly as it would without it.
 */
public final class ControlServer {
    private static final String CONTROL_FILE = "control";

    private final GatewayServer server;
    private final File controlFile;

    private ControlServer(GatewayServer server, File controlFile) {
        this.server = server;
        this.controlFile = controlFile;
    }

    public static ControlServer start(File dir, AgentControl control) throws Exception {
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
        File controlFile = new File(dir, CONTROL_FILE);
        writePrivately(controlFile, server.getListeningPort() + " " + token + "\n");
        controlFile.deleteOnExit();
        return new ControlServer(server, controlFile);
    }

    /** Written to a private temporary file, then renamed: a reader never sees half of it. */
    private static void writePrivately(File file, String text) throws IOException {
        File tmp = new File(file.getParentFile(), file.getName() + ".tmp");
        Files.deleteIfExists(tmp.toPath());
        try {
            Files.createFile(tmp.toPath(), PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        } catch (UnsupportedOperationException e) {
            Files.createFile(tmp.toPath());
        }
        try (Writer w = Files.newBufferedWriter(tmp.toPath(), StandardCharsets.UTF_8)) {
            w.write(text);
        }
        Files.move(tmp.toPath(), file.toPath(), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /** Stops after the current answer has been sent. */
    public void stopSoon() {
        controlFile.delete();
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
