package com.acme.app;

import static com.acme.app.Text.check;
import static com.acme.app.Text.repeat;

import com.acme.lib.Archive;
import com.acme.lib.Compressor;
import com.acme.lib.Messages;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;
import org.junit.Test;

/**
 * Twelve tests that reach the library's forgotten end() along four paths each: 12 x 4 = 48
 * stacks (each through its own caseNN frame) and 12 x 5 = 60 Deflaters. The Inflaters they use
 * are ended: released, no finding.
 */
public class CodecTest {
    @Test
    public void case01() {
        exercise("alpha");
    }

    @Test
    public void case02() {
        exercise("beta");
    }

    @Test
    public void case03() {
        exercise("gamma");
    }

    @Test
    public void case04() {
        exercise("delta");
    }

    @Test
    public void case05() {
        exercise("epsilon");
    }

    @Test
    public void case06() {
        exercise("zeta");
    }

    @Test
    public void case07() {
        exercise("eta");
    }

    @Test
    public void case08() {
        exercise("theta");
    }

    @Test
    public void case09() {
        exercise("iota");
    }

    @Test
    public void case10() {
        exercise("kappa");
    }

    @Test
    public void case11() {
        exercise("lambda");
    }

    @Test
    public void case12() {
        exercise("mu");
    }

    /** Five Deflaters at Compressor.compress, along four paths. */
    private static void exercise(String word) {
        byte[] text = repeat(word);
        check(Compressor.compress(text).length > 0);
        check(Messages.encode(word).length > 0);
        check(Archive.pack(text, text).size() == 2);
        check(roundTrips(text));
    }

    private static boolean roundTrips(byte[] text) {
        byte[] packed = Compressor.compress(text);
        Inflater inflater = new Inflater();
        try {
            inflater.setInput(packed);
            byte[] out = new byte[text.length];
            return inflater.inflate(out) == text.length && new String(out).equals(new String(text));
        } catch (DataFormatException e) {
            throw new AssertionError(e);
        } finally {
            inflater.end();
        }
    }
}
