package dev.unclosed.boot;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The tests of a test run, as the test framework starts and finishes them: the one running now
 * is what objects created meanwhile, on any thread, are attributed to. Ids are 1, 2, ... in the
 * order first started; 0 is no test.
 */
final class Tests {
    private static final int MAX_TESTS = 100_000;

    private final List<String> names = new ArrayList<>();
    private final Map<String, Integer> ids = new HashMap<>();
    private volatile int current;

    int current() {
        return current;
    }

    synchronized void started(String name) {
        Integer id = ids.get(name);
        if (id == null) {
            if (names.size() >= MAX_TESTS) return;
            names.add(name);
            id = names.size();
            ids.put(name, id);
        }
        current = id;
    }

    synchronized void finished(String name) {
        Integer id = ids.get(name);
        if (id != null && id == current) current = 0;
    }

    synchronized List<String> after(int known) {
        return known >= names.size() ? new ArrayList<>() : new ArrayList<>(names.subList(Math.max(0, known), names.size()));
    }

    synchronized int size() {
        return names.size();
    }
}
