package demo;

import static org.junit.Assert.assertTrue;

import org.junit.Test;

public class CompressorTest {
    @Test
    public void compressesRepeatedText() {
        byte[] text = new String(new char[1000]).replace('\0', 'a').getBytes();
        assertTrue(Compressor.compress(text).length < 100);
    }
}
