package dev.unclosed.inventory;

import static dev.unclosed.inventory.Members.ended;
import static dev.unclosed.inventory.Members.field;

import dev.unclosed.boot.Recorder;
import java.lang.instrument.Instrumentation;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Deque;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The Akka and Apache Pekko streams running now: one interpreter shell each, as the agent tracks
 * streams. Nothing lists actor systems, so they are found through their threads: every thread a
 * system starts (its scheduler's, which lives as long as the system, and its dispatchers') has
 * the system's uncaught-exception handler, an inner class of {@code ActorSystemImpl} that refers
 * to it. (CoordinatedShutdown's JVM shutdown hook would refer to it too, but Akka 2.6 makes it
 * only when asked.) From each system the actor tree is walked from the root guardian down to the
 * stream actors ({@code ActorGraphInterpreter}, under a materializer's supervisor wherever that
 * sits) and the shells each runs ({@code activeInterpreters}). By reflection only, through
 * public accessors whose names both libraries share after their package; what is read of the
 * tree is immutable (children containers, Scala sets), so no lock is taken.
 */
final class StreamActors {
    private static final Library[] LIBRARIES = {new Library("akka.", "Akka"), new Library("org.apache.pekko.", "Apache Pekko")};
    private static final String INTERPRETER = "stream.impl.fusing.ActorGraphInterpreter";
    private static final String SHELL = "stream.impl.fusing.GraphInterpreterShell";

    private final Map<Class<?>, Map<String, Method>> methods = new HashMap<>();
    private final Map<Class<?>, Field> completedFields = new HashMap<>();
    private final Budget budget;
    long streams;

    StreamActors(Budget budget) {
        this.budget = budget;
    }

    /** Adopts the shells of every system; says in {@code notes} what kept streams from being counted ({@code uncounted}). */
    void adopt(Instrumentation inst, List<Inventory.Note> notes, String family, String uncounted) throws Exception {
        Set<Object> systems = Collections.newSetFromMap(new IdentityHashMap<>());
        for (Thread thread : threads()) {
            Thread.UncaughtExceptionHandler handler = thread.getUncaughtExceptionHandler();
            Library library = Library.ofHandler(handler);
            if (library == null) continue;
            try {
                Object system = valueOf(handler, Class.forName(library.pkg + "actor.ActorSystem", false,
                        handler.getClass().getClassLoader()));
                if (system != null && systems.add(system)) walk(system);
            } catch (Throwable t) {
                notes.add(new Inventory.Note(family, library.name + ": " + Inventory.reason(t) + ": " + uncounted));
            }
        }
        if (!systems.isEmpty()) return;
        for (Class<?> type : inst.getAllLoadedClasses()) {
            for (Library library : LIBRARIES) {
                if (type.getName().equals(library.pkg + SHELL)) {
                    notes.add(new Inventory.Note(family, library.name + " streams are loaded but no running actor system was"
                            + " found (no thread has an ActorSystemImpl's uncaught-exception handler): " + uncounted));
                }
            }
        }
    }

    /** The JVM's live platform threads. */
    private static Thread[] threads() {
        ThreadGroup root = Thread.currentThread().getThreadGroup();
        while (root.getParent() != null) root = root.getParent();
        Thread[] threads;
        int n;
        do {
            threads = new Thread[root.activeCount() * 2 + 16];
            n = root.enumerate(threads, true);
        } while (n == threads.length); // more started meanwhile
        return Arrays.copyOf(threads, n);
    }

    /** The value of the first field {@code owner}'s class declares of {@code type}, or null. */
    private static Object valueOf(Object owner, Class<?> type) throws IllegalAccessException {
        for (Field f : owner.getClass().getDeclaredFields()) {
            if (Modifier.isStatic(f.getModifiers()) || !type.isAssignableFrom(f.getType())) continue;
            f.setAccessible(true);
            Object value = f.get(owner);
            if (value != null) return value;
        }
        return null;
    }

    /** From the root guardian down: each actor's cell, its actor, its children. */
    private void walk(Object system) throws Exception {
        Deque<Object> refs = new ArrayDeque<>();
        refs.push(call(call(system, "provider"), "rootGuardian"));
        while (!refs.isEmpty() && budget.take()) {
            Object cell = call(refs.pop(), "underlying"); // none: not a local actor
            if (cell == null) continue;
            Object actor = call(cell, "actor"); // none: not started yet
            if (actor != null && actor.getClass().getName().endsWith(INTERPRETER)) {
                for (Object shell : elements(call(actor, "activeInterpreters"))) adopt(shell);
            }
            Object children = call(cell, "childrenRefs");
            if (children != null) refs.addAll(elements(call(children, "children")));
        }
    }

    /** A shell not yet given its logics is tracked when it is; one completed has ended. */
    private void adopt(Object shell) throws Exception {
        Object[] logics = (Object[]) call(shell, "logics");
        Field completed = completedField(shell.getClass());
        if (logics == null || completed.getBoolean(shell)) return;
        if (Recorder.adoptStream(shell, logics, ended(() -> completed.getBoolean(shell)))) streams++;
    }

    private Field completedField(Class<?> shellType) throws Members.Missing {
        Field f = completedFields.get(shellType);
        if (f == null) completedFields.put(shellType, f = field(shellType, "interpreterCompleted"));
        return f;
    }

    /** The elements of a Scala collection, through its iterator, as far as the budget goes. */
    private List<Object> elements(Object collection) throws Exception {
        List<Object> out = new ArrayList<>();
        if (collection == null) return out;
        Object it = call(collection, "iterator");
        while (Boolean.TRUE.equals(call(it, "hasNext")) && budget.take()) out.add(call(it, "next"));
        return out;
    }

    /** The result of the object's public method {@code name} without arguments; null if it has none. */
    private Object call(Object target, String name) throws Exception {
        Map<String, Method> byName = methods.computeIfAbsent(target.getClass(), c -> new HashMap<>());
        Method m = byName.get(name);
        if (m == null && !byName.containsKey(name)) {
            m = publicMethod(target.getClass(), name);
            byName.put(name, m);
        }
        return m == null ? null : m.invoke(target);
    }

    private static Method publicMethod(Class<?> type, String name) {
        try {
            Method m = type.getMethod(name);
            m.trySetAccessible(); // declared by a class that is not public (Scala's collections)
            return m;
        } catch (NoSuchMethodException e) {
            return null;
        }
    }

    /** Akka or Apache Pekko: the same code under another package. */
    private static final class Library {
        final String pkg;
        final String name;

        Library(String pkg, String name) {
            this.pkg = pkg;
            this.name = name;
        }

        /** The library whose actor system set this uncaught-exception handler on its threads, or null. */
        static Library ofHandler(Object handler) {
            if (handler == null) return null; // the thread has ended
            for (Library library : LIBRARIES) {
                if (handler.getClass().getName().startsWith(library.pkg + "actor.ActorSystemImpl$")) return library;
            }
            return null;
        }
    }
}
