package com.acme.app;

import static com.acme.app.Text.check;
import static com.acme.app.Text.repeat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.zip.Deflater;
import org.junit.Test;

/**
 * A test whose own code leaks on a pool's threads: four tasks, each a Deflater never ended. Their
 * stacks end in the pool's worker threads, with no frame of the test: only the agent's
 * attribution (the test running when they were created) names it.
 */
public class PoolTest {
    @Test
    public void compressesOnAPool() throws Exception {
        byte[] text = repeat("pooled");
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            List<Future<Integer>> sizes = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                sizes.add(pool.submit(() -> {
                    Deflater deflater = new Deflater(); // site:pool
                    deflater.setInput(text);
                    deflater.finish();
                    return deflater.deflate(new byte[text.length + 64]);
                }));
            }
            for (Future<Integer> size : sizes) {
                check(size.get() > 0);
            }
        } finally {
            pool.shutdown();
            check(pool.awaitTermination(30, TimeUnit.SECONDS));
        }
    }
}
