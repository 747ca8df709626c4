package com.acme.shaded.v1.codec;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.zip.GZIPOutputStream;

public class GzipCodec {
    public static byte[] compress(byte[] data) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        GZIPOutputStream out = new GZIPOutputStream(bytes); // site:compress
        out.write(data);
        out.finish(); // finished, never closed: the Deflater is never ended
        return bytes.toByteArray();
    }
}
