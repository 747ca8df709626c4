package dev.unclosed.boot;

import static org.junit.Assert.assertEquals;

import org.junit.Test;

public class StreamStagesTest {
    @Test
    public void aStreamFedBySourceActorRefIsNamedForIt() {
        StreamStages akka = new StreamStages(new String[] {"akka.stream.impl.fusing.GraphStages$IgnoreSink$$anon$2",
            "akka.stream.impl.fusing.Map$$anon$1", "akka.stream.impl.ActorRefSource$$anon$1"});
        assertEquals("akka.stream.Source.actorRef", akka.kindName());
        assertEquals("stages: ActorRefSource, Map, GraphStages$IgnoreSink", akka.detail());
        StreamStages pekko = new StreamStages(new String[] {"org.apache.pekko.stream.impl.QueueSource$$anon$1"});
        assertEquals("org.apache.pekko.stream.Source.queue", pekko.kindName());
    }

    @Test
    public void anyOtherStreamIsNamedForItsSource() {
        StreamStages s = new StreamStages(new String[] {"akka.stream.impl.fusing.GraphStages$IgnoreSink$$anon$2",
            "akka.stream.impl.fusing.GraphStages$SingleSource$$anon$1"});
        assertEquals("akka.stream.impl.fusing.GraphStages$SingleSource", s.kindName());
    }

    @Test
    public void boundariesRepeatsAndGapsAreLeftOut() {
        StreamStages s = new StreamStages(new String[] {"akka.stream.impl.fusing.ActorGraphInterpreter$ActorOutputBoundary",
            "akka.stream.impl.fusing.Map$$anon$1", "", "akka.stream.impl.fusing.Map$$anon$1",
            "akka.stream.impl.fusing.ActorGraphInterpreter$BatchingActorInputBoundary"});
        assertEquals("stages: Map", s.detail());
        assertEquals("stream", new StreamStages(new String[0]).kindName());
        assertEquals("stream", StreamStages.of(null).kindName());
    }
}
