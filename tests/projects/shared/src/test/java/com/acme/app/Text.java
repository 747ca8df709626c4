package com.acme.app;

import java.nio.charset.StandardCharsets;

/** What the tests compress, and their one assertion (no JUnit API: the tests run on JUnit 4 and 5). */
final class Text {
    private Text() {}

    static byte[] repeat(String word) {
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < 200; i++) {
            text.append(word).append(' ');
        }
        return text.toString().getBytes(StandardCharsets.UTF_8);
    }

    static void check(boolean condition) {
        if (!condition) {
            throw new AssertionError("check failed");
        }
    }
}
