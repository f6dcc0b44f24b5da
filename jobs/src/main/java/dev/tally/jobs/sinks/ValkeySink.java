package dev.tally.jobs.sinks;

import dev.tally.common.views.ValkeyEndpoint;
import dev.tally.common.views.ViewUpdate;
import java.time.Duration;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.WriterInitContext;

/**
 * Writes view updates to Valkey through the versioned Lua script, in batches: flushed when {@code
 * maxBatch} updates are buffered, {@code maxDelay} after the first one arrived, and before every
 * checkpoint. While Valkey is unreachable the writer retries with backoff and blocks, so the job
 * backpressures and nothing is dropped.
 */
public final class ValkeySink implements Sink<ViewUpdate> {

  private static final long serialVersionUID = 1L;

  private final ValkeyEndpoint endpoint;
  private final int generation;
  private final int maxBatch;
  private final Duration maxDelay;

  public ValkeySink(ValkeyEndpoint endpoint, int generation, int maxBatch, Duration maxDelay) {
    this.endpoint = endpoint;
    this.generation = generation;
    this.maxBatch = maxBatch;
    this.maxDelay = maxDelay;
  }

  @Override
  public SinkWriter<ViewUpdate> createWriter(WriterInitContext context) {
    return new ValkeySinkWriter(
        endpoint,
        generation,
        maxBatch,
        maxDelay,
        context.getProcessingTimeService(),
        context.metricGroup());
  }
}
