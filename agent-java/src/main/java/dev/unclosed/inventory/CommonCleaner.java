package dev.unclosed.inventory;

import static dev.unclosed.inventory.Members.field;
import static dev.unclosed.inventory.Members.fieldOrNull;
import static dev.unclosed.inventory.Members.jdkClass;

import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.List;

/**
 * The actions registered now with the JDK's common {@code java.lang.ref.Cleaner}, the one every
 * Inflater, Deflater and ZipFile registers with (JDK 9+). Its list of cleanables is walked under
 * the list's own lock, as the JDK's insert and remove take it: walked without it, JDK 11 to 21
 * can loop forever on an entry removed meanwhile, and JDK 25 skips or repeats entries. Holding
 * it blocks every registration and clean in the JVM, so under it the walk only reads fields and
 * copies actions, and takes no other monitor: {@code end()} holds its zsRef's monitor while it
 * waits for this lock, and ZipFile holds its Inflater cache's, so taking either inside could
 * deadlock. Each field is read once before the lock, as the first read of a field sets up the
 * JDK's accessor for it (classes spun and loaded): work that must not run under it. Only the
 * referents' cleanup actions are read, never the referents: a phantom referent read can bring a
 * dead object back with ZGC or Shenandoah.
 */
final class CommonCleaner {
    private CommonCleaner() {}

    /** The actions of the given types, as many as the budget lets the walk see. */
    static List<Object> actions(Budget budget, Class<?>... wanted) throws Exception {
        Class<?> implType = jdkClass("jdk.internal.ref.CleanerImpl");
        Method implOf = implType.getDeclaredMethod("getCleanerImpl", java.lang.ref.Cleaner.class);
        implOf.setAccessible(true);
        Object impl = implOf.invoke(null, jdkClass("jdk.internal.ref.CleanerFactory").getMethod("cleaner").invoke(null));
        Field action = field(jdkClass("jdk.internal.ref.CleanerImpl$PhantomCleanableRef"), "action");
        Actions out = new Actions(action, wanted);
        Field ring = fieldOrNull(implType, "phantomCleanableList");
        if (ring != null) fromRing(ring.get(impl), out, budget);
        else fromNodes(field(implType, "activeList").get(impl), out, budget);
        return out.found;
    }

    /**
     * JDK 9 to 21: a circular doubly linked list; the head, a sentinel with no action, is the lock.
     * (The release that moved to {@link #fromNodes} lies between 22 and 25.)
     */
    private static void fromRing(Object head, Actions out, Budget budget) throws Exception {
        Field next = field(jdkClass("jdk.internal.ref.PhantomCleanable"), "next");
        out.prime(next.get(head)); // each field read once before the lock
        synchronized (head) {
            for (Object p = next.get(head); p != head && p != null && budget.take(); p = next.get(p)) out.visit(p);
        }
    }

    /** JDK 25: a list of nodes, each an array of cleanables and its size; the list object is the lock. */
    private static void fromNodes(Object list, Actions out, Budget budget) throws Exception {
        Class<?> nodeType = jdkClass("jdk.internal.ref.CleanerImpl$CleanableList$Node");
        Field head = field(list.getClass(), "head");
        Field cleanables = field(nodeType, "arr");
        Field size = field(nodeType, "size");
        Field next = field(nodeType, "next");
        Object first = head.get(list);
        if (first == null) return;
        Object[] firstCleanables = (Object[]) cleanables.get(first); // each field read once before the lock
        size.getInt(first);
        next.get(first);
        out.prime(firstCleanables.length > 0 ? firstCleanables[0] : null);
        synchronized (list) {
            for (Object node = head.get(list); node != null; node = next.get(node)) {
                Object[] entries = (Object[]) cleanables.get(node);
                for (int i = 0, n = size.getInt(node); i < n; i++) {
                    if (!budget.take()) return;
                    out.visit(entries[i]);
                }
            }
        }
    }

    /** Copies the actions wanted; other cleanables (FileCleanable, the cleaner's own) have no action to read. */
    private static final class Actions {
        final List<Object> found = new ArrayList<>();
        private final Field action;
        private final Class<?>[] wanted;

        Actions(Field action, Class<?>[] wanted) {
            this.action = action;
            this.wanted = wanted;
        }

        /** Reads the action of a cleanable read before the lock, if it has one. */
        void prime(Object cleanable) throws IllegalAccessException {
            if (action.getDeclaringClass().isInstance(cleanable)) action.get(cleanable);
        }

        void visit(Object cleanable) throws IllegalAccessException {
            if (!action.getDeclaringClass().isInstance(cleanable)) return;
            Object a = action.get(cleanable);
            for (Class<?> type : wanted) {
                if (type.isInstance(a)) {
                    found.add(a);
                    return;
                }
            }
        }
    }
}
