import akka.Done;
import akka.actor.ActorRef;
import akka.actor.ActorSystem;
import akka.japi.Pair;
import akka.stream.CompletionStrategy;
import akka.stream.OverflowStrategy;
import akka.stream.javadsl.Keep;
import akka.stream.javadsl.Sink;
import akka.stream.javadsl.Source;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;

/**
 * Runs Akka streams in known places and numbers; the tests run it on Apache Pekko too, with its
 * imports changed. Lines marked {@code // site:NAME} are the culprits the tests expect. Commands
 * on stdin: {@code running} (a Source.actorRef stream nobody completes), {@code completed} (one
 * completed, and waited for), {@code queue} (a Source.queue stream nobody completes), each then
 * prints {@code done}; {@code exit} stops the actor system and ends.
 */
public class StreamWorkload {
    /** The materialized values of the streams left running: they are "held" findings. */
    static final List<Object> RUNNING = new ArrayList<>();
    static ActorSystem system;

    public static void main(String[] args) throws Exception {
        system = ActorSystem.create("workload");
        // A first stream loads the stream classes: an agent attached later retransforms them.
        Source.single(1).runWith(Sink.ignore(), system).toCompletableFuture().get(30, TimeUnit.SECONDS);
        System.out.println("ready");
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        for (String line; (line = in.readLine()) != null; ) {
            if (line.equals("running")) running();
            else if (line.equals("completed")) completed();
            else if (line.equals("queue")) queue();
            else if (line.equals("exit")) break;
            Thread.sleep(200); // the stream actors start (and completed ones stop)
            System.out.println("done");
        }
        system.terminate();
        system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }

    /** Completes when sent "complete". */
    static Source<String, ActorRef> actorRefSource() {
        return Source.actorRef(
                message -> "complete".equals(message) ? Optional.of(CompletionStrategy.draining()) : Optional.empty(),
                message -> Optional.empty(), 16, OverflowStrategy.dropHead());
    }

    static void running() {
        RUNNING.add(actorRefSource().map(String::length).to(Sink.ignore()).run(system)); // site:running
    }

    static void completed() throws Exception {
        Pair<ActorRef, CompletionStage<Done>> stream = actorRefSource().toMat(Sink.ignore(), Keep.both()).run(system); // site:completed
        stream.first().tell("complete", ActorRef.noSender());
        stream.second().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }

    static void queue() {
        RUNNING.add(Source.<String>queue(8, OverflowStrategy.dropHead()).to(Sink.ignore()).run(system)); // site:queue
    }
}
