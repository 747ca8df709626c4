package com.acme.app;

import static com.acme.app.Text.check;
import static com.acme.app.Text.repeat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.zip.GZIPOutputStream;
import org.junit.Test;

/** A test whose own code leaks: three GZIPOutputStreams finished, never closed. */
public class LogRollerTest {
    @Test
    public void rollsLogs() throws IOException {
        for (int i = 0; i < 3; i++) {
            ByteArrayOutputStream rolled = new ByteArrayOutputStream();
            GZIPOutputStream gzip = new GZIPOutputStream(rolled); // site:roller
            gzip.write(repeat("log line " + i));
            gzip.finish();
            check(rolled.size() > 0);
        }
    }

    @Test
    public void closesWhatItRolls() throws IOException {
        ByteArrayOutputStream rolled = new ByteArrayOutputStream();
        try (GZIPOutputStream gzip = new GZIPOutputStream(rolled)) {
            gzip.write(repeat("closed"));
        }
        check(rolled.size() > 0);
    }
}
