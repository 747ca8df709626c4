package com.acme.lib;

import java.util.Arrays;
import java.util.zip.Deflater;

/**
 * The library's one way to compress. Version 1 forgets end(): every caller, along every path,
 * leaks a Deflater at the same line. Version 2 (the line marked FIX uncommented) ends it.
 */
public final class Compressor {
    private Compressor() {}

    public static byte[] compress(byte[] input) {
        Deflater deflater = new Deflater(); // site:library
        deflater.setInput(input);
        deflater.finish();
        byte[] out = new byte[input.length + 64];
        int n = deflater.deflate(out);
        // FIX: deflater.end();
        return Arrays.copyOf(out, n);
    }
}
