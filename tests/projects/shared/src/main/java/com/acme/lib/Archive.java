package com.acme.lib;

import java.util.ArrayList;
import java.util.List;

/** Packs entries: one Compressor.compress per entry, all from one line. */
public final class Archive {
    private Archive() {}

    public static List<byte[]> pack(byte[]... entries) {
        List<byte[]> packed = new ArrayList<>();
        for (byte[] entry : entries) {
            packed.add(Compressor.compress(entry));
        }
        return packed;
    }
}
