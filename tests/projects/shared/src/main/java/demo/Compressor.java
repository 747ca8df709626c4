package demo;

import java.util.Arrays;
import java.util.zip.Deflater;

/** Compresses a buffer; the leak the build gate must catch is one forgotten end(). */
public class Compressor {
    public static byte[] compress(byte[] input) {
        Deflater deflater = new Deflater(); // site:compressor
        deflater.setInput(input);
        deflater.finish();
        byte[] out = new byte[input.length + 64];
        int n = deflater.deflate(out);
        // FIX: deflater.end();
        return Arrays.copyOf(out, n);
    }
}
