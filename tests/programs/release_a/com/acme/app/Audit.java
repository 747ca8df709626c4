package com.acme.app;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.zip.GZIPInputStream;

class Audit {
    static int record(byte[] body) throws IOException {
        GZIPInputStream in = new GZIPInputStream(new ByteArrayInputStream(body)); // site:audit
        return in.read(); // never closed: fixed in 2.1.9
    }
}
