package dev.unclosed.boot;

import java.util.Arrays;

/**
 * What tells one stack from another, cheaply: each frame's class, method name and bytecode
 * index (two methods of one class may call on at the same index: a test's case01() and
 * case02() calling one helper). A thread fills its own key for every capture (no allocation);
 * a site keeps a frozen copy. Class and method names come from the JVM (cached, interned), so
 * comparing them is mostly comparing references.
 */
final class StackKey {
    int kind;
    char role;
    /** What else tells these objects apart (a stream's stages), or null. */
    String detail;
    String[] classes;
    String[] methods;
    int[] bcis;
    int size;
    /** Index of the culprit frame, -1 when none is within the captured frames. */
    int culpritAt = -1;
    private int hash;

    StackKey(int capacity) {
        classes = new String[capacity];
        methods = new String[capacity];
        bcis = new int[capacity];
    }

    void reset(int kind, char role, String detail) {
        this.kind = kind;
        this.role = role;
        this.detail = detail;
        size = 0;
        culpritAt = -1;
    }

    /** Adds the next frame down, unless the key is full. */
    void add(String className, String method, int bci, Kind kind) {
        if (size == classes.length) return;
        if (culpritAt < 0 && kind.isCulprit(className)) culpritAt = size;
        classes[size] = className;
        methods[size] = method;
        bcis[size] = bci;
        size++;
    }

    /** Once filled: computes the hash the table compares first. */
    void seal() {
        int h = (kind * 31 + role) * 31 + (detail == null ? 0 : detail.hashCode());
        for (int i = 0; i < size; i++) {
            h = ((h * 31 + classes[i].hashCode()) * 31 + (methods[i] == null ? 0 : methods[i].hashCode())) * 31 + bcis[i];
        }
        this.hash = h;
    }

    StackKey frozenCopy() {
        StackKey k = new StackKey(0);
        k.kind = kind;
        k.role = role;
        k.detail = detail;
        k.classes = Arrays.copyOf(classes, size);
        k.methods = Arrays.copyOf(methods, size);
        k.bcis = Arrays.copyOf(bcis, size);
        k.size = size;
        k.culpritAt = culpritAt;
        k.hash = hash;
        return k;
    }

    @Override
    public int hashCode() {
        return hash;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof StackKey)) return false;
        StackKey k = (StackKey) o;
        if (k.hash != hash || k.kind != kind || k.role != role || k.size != size || k.culpritAt != culpritAt) return false;
        if (detail == null ? k.detail != null : !detail.equals(k.detail)) return false;
        for (int i = 0; i < size; i++) {
            if (bcis[i] != k.bcis[i] || !same(classes[i], k.classes[i]) || !same(methods[i], k.methods[i])) return false;
        }
        return true;
    }

    /** Names are mostly the very same strings (the JVM interns them): the reference first. */
    private static boolean same(String a, String b) {
        return a == b || (a != null && a.equals(b));
    }
}
