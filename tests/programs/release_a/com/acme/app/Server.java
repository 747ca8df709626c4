package com.acme.app;

import com.acme.shaded.v1.codec.GzipCodec;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;

/**
 * Release 2.1.8 of a small service, for `unclosed diff` (tests/test_release_diff.py): each
 * request is compressed by a shaded codec that never closes its GZIPOutputStream, and audited
 * by reading it back through a GZIPInputStream that is never closed either. Release 2.1.9
 * (release_b) fixes the audit, moves and unshades the codec, and adds a leak of its own.
 * Commands on stdin: {@code serve N} handles N requests, then prints {@code done}; {@code exit}.
 */
public class Server {
    public static void main(String[] args) throws Exception {
        System.out.println("ready");
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        for (String line; (line = in.readLine()) != null; ) {
            if (line.startsWith("serve ")) serve(Integer.parseInt(line.substring(6))); // site:call_serve
            else if (line.equals("exit")) return;
            settle();
            System.out.println("done");
        }
    }

    static void serve(int requests) throws IOException {
        for (int i = 0; i < requests; i++) handle("request " + i); // site:call_handle
    }

    static void handle(String request) throws IOException {
        byte[] body = GzipCodec.compress(request.getBytes()); // site:call_compress
        Audit.record(body); // site:call_audit
    }

    /** Lets the GC reclaim what the requests dropped, so that leaks are seen now. */
    static void settle() throws InterruptedException {
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(100);
        }
    }
}
