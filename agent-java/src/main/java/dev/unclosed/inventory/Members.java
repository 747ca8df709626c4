package dev.unclosed.inventory;

import java.lang.reflect.Field;
import java.util.function.BooleanSupplier;

/** Fields of the JDK's classes and of libraries', made readable; a missing one is named in the {@link Missing} thrown. */
final class Members {
    private Members() {}

    /** What a JDK or library lacks of what the inventory reads: {@code jdk.internal.ref.CleanerImpl.activeList not found}. */
    static final class Missing extends Exception {
        Missing(String what) {
            super(what + " not found");
        }
    }

    static Class<?> jdkClass(String name) throws Missing {
        try {
            return Class.forName(name, false, null);
        } catch (ClassNotFoundException e) {
            throw new Missing(name);
        }
    }

    static Field field(Class<?> type, String name) throws Missing {
        Field f = fieldOrNull(type, name);
        if (f == null) throw new Missing(type.getName() + "." + name);
        return f;
    }

    /** The field declared by {@code type} or a superclass, made accessible; null if there is none. */
    static Field fieldOrNull(Class<?> type, String name) {
        for (Class<?> c = type; c != null; c = c.getSuperclass()) {
            try {
                Field f = c.getDeclaredField(name);
                f.setAccessible(true);
                return f;
            } catch (NoSuchFieldException e) {
                // a superclass may declare it
            }
        }
        return null;
    }

    /** A read of a field that was made accessible. */
    interface Read {
        boolean get() throws IllegalAccessException;
    }

    /** Whether an object found was released since: a read of its state, false (still held) should it fail. */
    static BooleanSupplier ended(Read read) {
        return () -> {
            try {
                return read.get();
            } catch (IllegalAccessException e) {
                return false;
            }
        };
    }
}
