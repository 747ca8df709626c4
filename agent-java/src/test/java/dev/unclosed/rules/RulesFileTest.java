package dev.unclosed.rules;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.util.Arrays;
import java.util.List;
import org.junit.Test;

public class RulesFileTest {
    private static List<Rule> parse(String... lines) {
        return RulesFile.parse("rules.toml", Arrays.asList(lines));
    }

    private static void refused(String expected, String... lines) {
        try {
            parse(lines);
            fail("accepted: " + Arrays.toString(lines));
        } catch (IllegalArgumentException e) {
            assertTrue(e.getMessage(), e.getMessage().contains(expected));
        }
    }

    @Test
    public void readsEachResource() {
        List<Rule> rules = parse(
                "# two resources",
                "[[resource]]",
                "class = \"org.h2.jdbc.JdbcConnection\"",
                "acquire = \"constructor\"   # every constructor",
                "release = [\"close\", \"abort\",]",
                "family = \"jdbc\"",
                "skip = [\"org.h2.\"]",
                "",
                "[[resource]]",
                "class = \"sun.nio.ch.FileChannelImpl\"",
                "acquire = \"open\"",
                "release = \"implCloseChannel\"",
                "family = \"file\"",
                "bytes = 1_024");
        assertEquals(2, rules.size());
        Rule jdbc = rules.get(0);
        assertEquals("org.h2.jdbc.JdbcConnection", jdbc.className);
        assertTrue(jdbc.byConstructor());
        assertEquals(Arrays.asList("close", "abort"), jdbc.release);
        assertEquals("jdbc", jdbc.family);
        assertEquals(0, jdbc.bytes);
        assertEquals(Arrays.asList("org.h2."), jdbc.skip);
        Rule file = rules.get(1);
        assertFalse(file.byConstructor());
        assertEquals("open", file.acquire);
        assertEquals(Arrays.asList("implCloseChannel"), file.release);
        assertEquals(1024, file.bytes);
        assertTrue(file.skip.isEmpty());
    }

    @Test
    public void mistakesNameTheirLine() {
        refused("line 1: [[resource]] needs release", "[[resource]]", "class = \"a.B\"", "acquire = \"constructor\"", "family = \"x\"");
        refused("line 3: unknown key relase", "[[resource]]", "class = \"a.B\"", "relase = \"close\"");
        refused("line 1: key class before the first [[resource]]", "class = \"a.B\"");
        refused("line 1: only [[resource]] tables", "[resource]");
        refused("acquire is \"constructor\" or the name of a method", "[[resource]]", "class = \"a.B\"", "acquire = \"a.b\"",
                "release = \"close\"", "family = \"x\"");
        refused("family is lower case", "[[resource]]", "class = \"a.B\"", "acquire = \"open\"", "release = \"close\"",
                "family = \"Big Family\"");
        refused("line 3: key class given twice", "[[resource]]", "class = \"a.B\"", "class = \"a.C\"");
        refused("bytes is a whole number", "[[resource]]", "class = \"a.B\"", "acquire = \"open\"", "release = \"close\"",
                "family = \"x\"", "bytes = \"1\"");
        refused("line 2: a value is", "[[resource]]", "class = a.B");
        refused("names no [[resource]]", "# nothing");
    }
}
