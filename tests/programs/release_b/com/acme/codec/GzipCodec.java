package com.acme.codec;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.zip.GZIPOutputStream;

/** No longer shaded in 2.1.9: com.acme.codec, was com.acme.shaded.v1.codec. */
public class GzipCodec {
    private static final int BUFFER = 512;

    /**
     * Compresses {@code data} into a gzip member.
     * (Still leaks: finished, never closed.)
     */
    public static byte[] compress(byte[] data) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(BUFFER);
        GZIPOutputStream out = new GZIPOutputStream(bytes); // site:compress
        out.write(data);
        out.finish();
        return bytes.toByteArray();
    }
}
