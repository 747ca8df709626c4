package dev.unclosed.boot;

import java.util.ArrayList;
import java.util.List;

/**
 * Names an Akka or Apache Pekko stream from the stage logics its interpreter hosts. A logic's
 * class is its stage's class or one nested in it ({@code ActorRefSource$$anon$1}); the
 * interpreter's own boundary logics (connections to other actors) are plumbing and left out.
 * The materializer lists a linear stream's logics sink first; they are kept source first.
 */
final class StreamStages {
    /** Stage classes (after the library's package) and the DSL call users know them by. */
    private static final String[][] SOURCES = {
        {"stream.impl.ActorRefSource", "stream.Source.actorRef"},
        {"stream.impl.ActorRefBackpressureSource", "stream.Source.actorRefWithBackpressure"},
        {"stream.impl.QueueSource", "stream.Source.queue"},
        {"stream.impl.BoundedSourceQueueStage", "stream.Source.queue"},
    };
    private static final String BOUNDARY = "stream.impl.fusing.ActorGraphInterpreter$";
    private static final int MAX_STAGES = 32;

    final List<String> classes = new ArrayList<>();

    /** From the classes of the logics, as the materializer lists them. */
    StreamStages(String[] logicClasses) {
        for (int i = logicClasses.length - 1; i >= 0; i--) {
            String name = logicClasses[i];
            int anonymous = name.indexOf("$$");
            String stage = anonymous > 0 ? name.substring(0, anonymous) : name;
            if (stage.isEmpty() || stage.contains(BOUNDARY) || classes.contains(stage)) continue;
            if (classes.size() == MAX_STAGES) break;
            classes.add(stage);
        }
    }

    static StreamStages of(Object[] logics) {
        int n = logics == null ? 0 : logics.length;
        String[] classes = new String[n];
        for (int i = 0; i < n; i++) classes[i] = logics[i] == null ? "" : logics[i].getClass().getName();
        return new StreamStages(classes);
    }

    /** {@code akka.stream.Source.actorRef} for a stream fed by one, else its first stage's class (its source's). */
    String kindName() {
        for (String stage : classes) {
            for (String[] source : SOURCES) {
                if (stage.endsWith("." + source[0])) {
                    return stage.substring(0, stage.length() - source[0].length()) + source[1];
                }
            }
        }
        return classes.isEmpty() ? Kinds.get(Kinds.STREAM).name : classes.get(0);
    }

    /** {@code stages: ActorRefSource, Map, GraphStages$IgnoreSink}: simple names, source first. */
    String detail() {
        StringBuilder b = new StringBuilder("stages: ");
        for (int i = 0; i < classes.size(); i++) {
            if (i > 0) b.append(", ");
            String stage = classes.get(i);
            b.append(stage.substring(stage.lastIndexOf('.') + 1));
        }
        return b.toString();
    }
}
