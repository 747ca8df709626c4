package dev.unclosed.rules;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads a rules file: a subset of TOML, one {@code [[resource]]} table per rule (see
 * docs/protocol.md). Values are "strings", whole numbers, or one-line ["arrays", "of strings"];
 * {@code #} starts a comment. Any mistake is an error naming its line: the agent then does not
 * start, as for a bad option.
 */
public final class RulesFile {
    private static final Pattern KEY_VALUE = Pattern.compile("([A-Za-z_]+)\\s*=\\s*(.+)");
    private static final Pattern STRING = Pattern.compile("\"((?:[^\"\\\\]|\\\\.)*)\"");
    private static final Pattern JAVA_NAME = Pattern.compile("[\\p{L}_$][\\p{L}\\p{N}_$]*(\\.[\\p{L}_$][\\p{L}\\p{N}_$]*)*");
    private static final Pattern METHOD_NAME = Pattern.compile("[\\p{L}_$][\\p{L}\\p{N}_$]*");
    private static final Pattern FAMILY = Pattern.compile("[a-z0-9_-]+");
    private static final String KEYS = "class, acquire, release, family, bytes, skip";

    private final String path;
    private final List<Rule> rules = new ArrayList<>();
    private Map<String, Object> table;
    private int tableLine;
    private int line;

    private RulesFile(String path) {
        this.path = path;
    }

    public static List<Rule> read(String path) throws IOException {
        List<String> lines;
        try {
            lines = Files.readAllLines(Paths.get(path), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IOException("cannot read rules file " + path + ": " + e);
        }
        return parse(path, lines);
    }

    static List<Rule> parse(String path, List<String> lines) {
        RulesFile f = new RulesFile(path);
        for (String text : lines) {
            f.line++;
            f.parseLine(stripComment(text).trim());
        }
        f.endTable();
        if (f.rules.isEmpty()) throw new IllegalArgumentException("rules file " + path + " names no [[resource]]");
        return f.rules;
    }

    private void parseLine(String text) {
        if (text.isEmpty()) return;
        if (text.equals("[[resource]]")) {
            endTable();
            table = new HashMap<>();
            tableLine = line;
            return;
        }
        if (text.startsWith("[")) throw error("only [[resource]] tables are known, not " + text);
        Matcher m = KEY_VALUE.matcher(text);
        if (!m.matches()) throw error("expected key = value, not " + text);
        if (table == null) throw error("key " + m.group(1) + " before the first [[resource]]");
        String key = m.group(1);
        if (!(", " + KEYS + ",").contains(", " + key + ",")) throw error("unknown key " + key + " (known: " + KEYS + ")");
        if (table.containsKey(key)) throw error("key " + key + " given twice");
        table.put(key, value(m.group(2).trim()));
    }

    /** A string, a whole number (Long), or a list of strings. */
    private Object value(String text) {
        Matcher s = STRING.matcher(text);
        if (s.matches()) return unescape(s.group(1));
        if (text.matches("[0-9][0-9_]*")) {
            try {
                return Long.parseLong(text.replace("_", ""));
            } catch (NumberFormatException e) {
                throw error("number too large: " + text);
            }
        }
        if (text.startsWith("[") && text.endsWith("]")) {
            List<String> items = new ArrayList<>();
            String rest = text.substring(1, text.length() - 1).trim();
            while (!rest.isEmpty()) {
                Matcher item = STRING.matcher(rest);
                if (!item.lookingAt()) throw error("an array holds \"strings\" only: " + text);
                items.add(unescape(item.group(1)));
                rest = rest.substring(item.end()).trim();
                if (rest.startsWith(",")) rest = rest.substring(1).trim();
                else if (!rest.isEmpty()) throw error("expected , between array items: " + text);
            }
            return items;
        }
        throw error("a value is a \"string\", a whole number or [\"an\", \"array\"], not " + text);
    }

    private void endTable() {
        if (table == null) return;
        line = tableLine;
        String className = string("class", true);
        if (!JAVA_NAME.matcher(className).matches()) throw error("class " + className + " is not a Java class name");
        String acquire = string("acquire", true);
        if (!acquire.equals(Rule.CONSTRUCTOR) && !METHOD_NAME.matcher(acquire).matches()) {
            throw error("acquire is \"" + Rule.CONSTRUCTOR + "\" or the name of a method of " + className + ", not " + acquire);
        }
        List<String> release = strings("release", true);
        if (release.isEmpty()) throw error("release names no method");
        for (String method : release) {
            if (!METHOD_NAME.matcher(method).matches()) throw error("release: " + method + " is not a method name");
        }
        String family = string("family", true);
        if (!FAMILY.matcher(family).matches()) throw error("family is lower case letters, digits, _ and -, not " + family);
        Object bytes = table.containsKey("bytes") ? table.get("bytes") : Long.valueOf(0);
        if (!(bytes instanceof Long)) throw error("bytes is a whole number");
        rules.add(new Rule(className, acquire, release, family, (Long) bytes, strings("skip", false)));
        table = null;
    }

    private String string(String key, boolean required) {
        Object v = table.get(key);
        if (v == null && required) throw error("[[resource]] needs " + key);
        if (v != null && !(v instanceof String)) throw error(key + " is a \"string\"");
        return (String) v;
    }

    @SuppressWarnings("unchecked")
    private List<String> strings(String key, boolean required) {
        Object v = table.get(key);
        if (v == null && required) throw error("[[resource]] needs " + key);
        if (v == null) return new ArrayList<>();
        if (v instanceof String) {
            List<String> one = new ArrayList<>();
            one.add((String) v);
            return one;
        }
        if (!(v instanceof List)) throw error(key + " is a \"string\" or [\"an\", \"array\"]");
        return (List<String>) v;
    }

    private IllegalArgumentException error(String message) {
        return new IllegalArgumentException("rules file " + path + " line " + line + ": " + message);
    }

    private static String stripComment(String text) {
        boolean quoted = false;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '\\' && quoted) i++;
            else if (c == '"') quoted = !quoted;
            else if (c == '#' && !quoted) return text.substring(0, i);
        }
        return text;
    }

    private static String unescape(String s) {
        return s.replace("\\\"", "\"").replace("\\\\", "\\");
    }
}
