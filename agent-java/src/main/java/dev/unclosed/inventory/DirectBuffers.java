package dev.unclosed.inventory;

import static dev.unclosed.inventory.Members.ended;
import static dev.unclosed.inventory.Members.field;
import static dev.unclosed.inventory.Members.jdkClass;

import dev.unclosed.boot.Kinds;
import dev.unclosed.boot.Recorder;
import java.lang.reflect.Field;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;

/**
 * The direct buffers allocated now: every {@code ByteBuffer.allocateDirect} registers a
 * {@code jdk.internal.ref.Cleaner} (a static linked list, JDK 9 to 25) whose thunk is the
 * buffer's {@code DirectByteBuffer$Deallocator}, which the agent tracks a buffer by and whose
 * {@code run()} frees it. Sized by its capacity, exactly. Mapped files' Unmappers share the
 * list and are not direct buffers; buffers over memory of others (JNI) have no cleaner at all.
 * The list is walked under its lock (the class's monitor, as its static synchronized add and
 * remove take it), which the Reference Handler needs to free buffers: only copied under it.
 */
final class DirectBuffers {
    long count;
    long bytes;

    /** Adopts the buffers; says in {@code notes} ({@code family}) what it could not leave out. */
    void adopt(Budget budget, List<Inventory.Note> notes, String family) throws Exception {
        Class<?> cleanerType = jdkClass("jdk.internal.ref.Cleaner");
        Class<?> deallocator = jdkClass("java.nio.DirectByteBuffer$Deallocator");
        Field first = field(cleanerType, "first");
        Field next = field(cleanerType, "next");
        Field thunk = field(cleanerType, "thunk");
        Field capacity = field(deallocator, "capacity");
        Object head = first.get(null);
        if (head == null) return;
        // Each field is read once before the lock: the first read sets up the JDK's accessor for it.
        next.get(head);
        thunk.get(head);
        List<Object> cleaners = new ArrayList<>();
        synchronized (cleanerType) {
            for (Object c = first.get(null); c != null && budget.take(); c = next.get(c)) {
                if (deallocator.isInstance(thunk.get(c))) cleaners.add(c);
            }
        }
        Set<Object> agentsOwn = Collections.newSetFromMap(new IdentityHashMap<>());
        try {
            agentsOwn.addAll(temporaryBuffersOfThisThread(thunk));
        } catch (Exception e) {
            notes.add(new Inventory.Note(family, Inventory.JDK + ": " + Inventory.reason(e)
                    + ": the agent's own temporary buffers (its file writes at attach) are counted among the direct buffers"));
        }
        for (Object cleaner : cleaners) {
            Object buffer = thunk.get(cleaner);
            if (agentsOwn.contains(buffer)) continue;
            int size = capacity.getInt(buffer);
            // A cleaner removed from the list points at itself: the buffer was freed since.
            if (Recorder.adopt(buffer, Kinds.DIRECT, size, ended(() -> next.get(cleaner) == cleaner))) {
                count++;
                bytes += size;
            }
        }
    }

    /**
     * The Deallocators of the temporary direct buffers NIO keeps cached for this thread (it
     * reads and writes heap buffers through them). This thread is the one the agent starts on,
     * on attach the JVM's Attach Listener, which ran nothing else of Java's: they were made by
     * the agent's own file writes, not the application's. (JDK 25 allocates them without a
     * cleaner, out of the list: nothing to leave out.)
     */
    private static List<Object> temporaryBuffersOfThisThread(Field thunk) throws Exception {
        ThreadLocal<?> cache = (ThreadLocal<?>) field(jdkClass("sun.nio.ch.Util"), "bufferCache").get(null);
        Object ofThisThread = cache.get();
        Object[] buffers = (Object[]) field(ofThisThread.getClass(), "buffers").get(ofThisThread);
        Field cleaner = field(jdkClass("java.nio.DirectByteBuffer"), "cleaner");
        List<Object> deallocators = new ArrayList<>();
        for (Object buffer : buffers) {
            Object its = buffer == null ? null : cleaner.get(buffer);
            if (its != null) deallocators.add(thunk.get(its));
        }
        return deallocators;
    }
}
