package com.acme.app;

import java.util.zip.Deflater;

/** New in 2.1.9: sizes each session's state by compressing it, and forgets to end the Deflater. */
class SessionCache {
    static int remember(String session) {
        Deflater deflater = new Deflater(Deflater.BEST_SPEED); // site:session
        deflater.setInput(session.getBytes());
        deflater.finish();
        return deflater.deflate(new byte[64]);
    }
}
