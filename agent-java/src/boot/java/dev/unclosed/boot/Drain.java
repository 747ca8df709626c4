package dev.unclosed.boot;

import java.util.List;

/** What the recorder hands over at a drain: everything new since the previous one. */
public final class Drain {
    public final List<Site> newSites;
    /** {thread id, name} for threads first seen since the previous drain. */
    public final List<String[]> newThreads;
    /** {@link #EVENT_WIDTH} longs per event: type, object id, site id, thread id, time, bytes. */
    public final long[] events;
    public final List<Site> creationSites;
    /** Creation time of the oldest held object, indexed by site id; 0 where none. */
    public final long[] oldestHeld;
    public final long droppedEvents;
    public final long droppedSites;
    public final long droppedObjects;
    public final long errors;
    public final long held;
    /** {time ms, message} for errors caught since the previous drain. */
    public final List<String[]> errorMessages;

    public static final int EVENT_WIDTH = Journal.WIDTH;
    public static final int CREATED = Journal.CREATED;
    public static final int RELEASED = Journal.RELEASED;
    public static final int LEAKED = Journal.LEAKED;
    public static final int FREED = Journal.FREED;

    Drain(List<Site> newSites, List<String[]> newThreads, long[] events, List<Site> creationSites, long[] oldestHeld,
            long droppedEvents, long droppedSites, long droppedObjects, long errors, long held, List<String[]> errorMessages) {
        this.newSites = newSites;
        this.newThreads = newThreads;
        this.events = events;
        this.creationSites = creationSites;
        this.oldestHeld = oldestHeld;
        this.droppedEvents = droppedEvents;
        this.droppedSites = droppedSites;
        this.droppedObjects = droppedObjects;
        this.errors = errors;
        this.held = held;
        this.errorMessages = errorMessages;
    }
}
