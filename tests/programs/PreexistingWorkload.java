import akka.actor.ActorSystem;
import akka.stream.OverflowStrategy;
import akka.stream.javadsl.Sink;
import akka.stream.javadsl.Source;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.zip.Deflater;
import java.util.zip.Inflater;

/**
 * Holds native resources before any agent comes: 100 Deflaters, 20 Inflaters, 16 direct
 * buffers of 4 MiB and 5 Akka Source.actorRef streams nobody completes (the tests run it on
 * Apache Pekko too, with its imports changed), then prints {@code ready}. Commands on stdin:
 * {@code end-deflaters N} ends N more of the Deflaters (they stay reachable) and prints
 * {@code done}; {@code exit} stops the actor system and ends.
 */
public class PreexistingWorkload {
    static final List<Deflater> DEFLATERS = new ArrayList<>();
    static final List<Inflater> INFLATERS = new ArrayList<>();
    static final List<ByteBuffer> BUFFERS = new ArrayList<>();
    static final List<Object> STREAMS = new ArrayList<>();

    public static void main(String[] args) throws Exception {
        ActorSystem system = ActorSystem.create("preexisting");
        for (int i = 0; i < 100; i++) DEFLATERS.add(new Deflater());
        for (int i = 0; i < 20; i++) INFLATERS.add(new Inflater());
        for (int i = 0; i < 16; i++) BUFFERS.add(ByteBuffer.allocateDirect(4 << 20));
        for (int i = 0; i < 5; i++) {
            STREAMS.add(Source.<String>actorRef(message -> Optional.empty(), message -> Optional.empty(), 16,
                    OverflowStrategy.dropHead()).map(String::length).to(Sink.ignore()).run(system));
        }
        Thread.sleep(500); // the stream actors start
        System.out.println("ready");
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        int ended = 0;
        for (String line; (line = in.readLine()) != null && !line.equals("exit"); ) {
            if (line.startsWith("end-deflaters ")) {
                for (int n = Integer.parseInt(line.substring("end-deflaters ".length())); n > 0; n--) DEFLATERS.get(ended++).end();
            }
            System.out.println("done");
        }
        system.terminate();
        system.getWhenTerminated().toCompletableFuture().get();
    }
}
