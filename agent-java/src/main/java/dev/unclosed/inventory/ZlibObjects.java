package dev.unclosed.inventory;

import static dev.unclosed.inventory.Members.ended;
import static dev.unclosed.inventory.Members.field;
import static dev.unclosed.inventory.Members.jdkClass;

import dev.unclosed.boot.Kinds;
import dev.unclosed.boot.Recorder;
import java.lang.reflect.Field;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.zip.Inflater;
import java.util.zip.ZipFile;

/**
 * The Inflaters and Deflaters alive now, found by their native state ({@code zsRef}, a
 * {@code ZStreamRef}): each is the action it registered with the common Cleaner, and what the
 * agent tracks a flater by, so that its {@code end()} finds it. Its owner is never read (a
 * phantom referent). ZipFile's own Inflaters, idle in a file's pool or lent to an entry's
 * stream, are the JDK's, ended when the file closes: left out, and counted apart.
 *
 * <p>On JDK 11 a flater of a subclass that declares {@code end()} is finalized rather than
 * registered with the Cleaner: not found. So is the resource of a ZipFile subclass that
 * declares {@code close()}: the pools of the JDK's own (jar files opened by URL) are found in
 * its cache of them, those of the application's own subclasses are counted as its Inflaters.
 */
final class ZlibObjects {
    long inflaters;
    long deflaters;
    /** ZipFile's pooled Inflaters, not adopted. */
    long zipPool;

    void adopt(Budget budget) throws Exception {
        Class<?> inflaterState = jdkClass("java.util.zip.Inflater$InflaterZStreamRef");
        Class<?> deflaterState = jdkClass("java.util.zip.Deflater$DeflaterZStreamRef");
        Class<?> zipResource = jdkClass("java.util.zip.ZipFile$CleanableResource");
        Class<?> lentInflater = jdkClass("java.util.zip.ZipFile$InflaterCleanupAction");
        List<Object> actions = CommonCleaner.actions(budget, inflaterState, deflaterState, zipResource, lentInflater);
        Set<Object> pooled = zipPoolStates(actions, zipResource, lentInflater);
        Field inflaterAddress = field(inflaterState, "address");
        Field deflaterAddress = field(deflaterState, "address");
        for (Object state : actions) {
            if (deflaterState.isInstance(state)) {
                if (adopt(state, Kinds.DEFLATER, Kinds.DEFLATER_BYTES, deflaterAddress)) deflaters++;
            } else if (inflaterState.isInstance(state)) {
                if (pooled.contains(state)) zipPool++;
                else if (adopt(state, Kinds.INFLATER, Kinds.INFLATER_BYTES, inflaterAddress)) inflaters++;
            }
        }
    }

    /** Ended since it was found: {@code end()} or the Cleaner zeroed its address. */
    private static boolean adopt(Object state, int kind, long bytes, Field address) {
        return Recorder.adopt(state, kind, bytes, ended(() -> address.getLong(state) == 0));
    }

    /**
     * The native states of ZipFile's Inflaters: those idle in each open file's cache, read under
     * the cache's own lock (after the Cleaner's was let go), and those lent to entry streams.
     */
    private static Set<Object> zipPoolStates(List<Object> actions, Class<?> zipResource, Class<?> lentInflater) throws Exception {
        Field cache = field(zipResource, "inflaterCache");
        Field lent = field(lentInflater, "inf");
        Field state = field(Inflater.class, "zsRef");
        Set<Object> states = identitySet();
        Set<Object> resources = identitySet();
        for (Object a : actions) {
            if (zipResource.isInstance(a)) {
                resources.add(a);
            } else if (lentInflater.isInstance(a)) {
                Object inflater = lent.get(a);
                if (inflater != null) states.add(state.get(inflater));
            }
        }
        resources.addAll(cachedJarResources());
        for (Object resource : resources) {
            Deque<?> idle = (Deque<?>) cache.get(resource);
            if (idle == null) continue; // the file is closed
            Object[] inflaters;
            synchronized (idle) {
                inflaters = idle.toArray();
            }
            for (Object inflater : inflaters) states.add(state.get(inflater));
        }
        return states;
    }

    /**
     * The resources of the jar files that {@code jar:} URLs opened and keep open (class loaders
     * reading resources, such as a library's reference.conf): on JDK 11 such a file, a subclass
     * that declares {@code close()}, gets a resource that is finalized rather than registered
     * with the Cleaner, so its pool is not among the Cleaner's actions.
     */
    private static List<Object> cachedJarResources() throws Exception {
        Class<?> factoryType = jdkClass("sun.net.www.protocol.jar.JarFileFactory");
        Field files = field(factoryType, "fileCache");
        Field resource = field(ZipFile.class, "res");
        Object factory = field(factoryType, "instance").get(null);
        Object[] jars;
        synchronized (factory) { // as the factory's own lookups take it
            jars = ((Map<?, ?>) files.get(null)).values().toArray();
        }
        List<Object> resources = new ArrayList<>();
        for (Object jar : jars) resources.add(resource.get(jar));
        return resources;
    }

    private static Set<Object> identitySet() {
        return Collections.newSetFromMap(new IdentityHashMap<>());
    }
}
