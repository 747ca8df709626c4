package dev.unclosed.boot;

import java.util.Arrays;

/**
 * What tells one stack from another, cheaply: each frame's class and bytecode index, and the
 * method of the culprit frame (two methods of one class may allocate at the same index; the
 * culprit is where telling them apart matters). A thread fills its own key for every capture
 * (no allocation); a site keeps a frozen copy.
 */
final class StackKey {
    int kind;
    char role;
    /** What else tells these objects apart (a stream's stages), or null. */
    String detail;
    String[] classes;
    int[] bcis;
    int size;
    /** Index of the culprit frame, -1 when none is within the captured frames. */
    int culpritAt = -1;
    String culpritMethod;
    private int hash;

    StackKey(int capacity) {
        classes = new String[capacity];
        bcis = new int[capacity];
    }

    void reset(int kind, char role, String detail) {
        this.kind = kind;
        this.role = role;
        this.detail = detail;
        size = 0;
        culpritAt = -1;
        culpritMethod = null;
    }

    /**
     * Adds the next frame down, unless the key is full; true when it is the culprit, the first
     * frame that can be (the caller then sets {@link #culpritMethod}).
     */
    boolean add(String className, int bci, Kind kind) {
        if (size == classes.length) return false;
        boolean culprit = culpritAt < 0 && kind.isCulprit(className);
        if (culprit) culpritAt = size;
        classes[size] = className;
        bcis[size] = bci;
        size++;
        return culprit;
    }

    /** Once filled: computes the hash the table compares first. */
    void seal() {
        int h = (kind * 31 + role) * 31 + (detail == null ? 0 : detail.hashCode());
        for (int i = 0; i < size; i++) h = (h * 31 + classes[i].hashCode()) * 31 + bcis[i];
        this.hash = h * 31 + (culpritMethod == null ? 0 : culpritMethod.hashCode());
    }

    StackKey frozenCopy() {
        StackKey k = new StackKey(0);
        k.kind = kind;
        k.role = role;
        k.detail = detail;
        k.classes = Arrays.copyOf(classes, size);
        k.bcis = Arrays.copyOf(bcis, size);
        k.size = size;
        k.culpritAt = culpritAt;
        k.culpritMethod = culpritMethod;
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
        if (culpritMethod == null ? k.culpritMethod != null : !culpritMethod.equals(k.culpritMethod)) return false;
        for (int i = 0; i < size; i++) {
            if (bcis[i] != k.bcis[i] || !classes[i].equals(k.classes[i])) return false;
        }
        return true;
    }
}
