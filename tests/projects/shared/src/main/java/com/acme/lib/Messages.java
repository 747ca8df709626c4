package com.acme.lib;

import java.nio.charset.StandardCharsets;

/** Encodes a message: one Compressor.compress per message. */
public final class Messages {
    private Messages() {}

    public static byte[] encode(String message) {
        return Compressor.compress(message.getBytes(StandardCharsets.UTF_8));
    }
}
