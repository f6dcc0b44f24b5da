package dev.tally.jobs.sinks;

import dev.tally.common.views.ValkeyEndpoint;
import dev.tally.common.views.ValkeyViewStore;
import dev.tally.common.views.ViewUpdate;
import io.valkey.exceptions.JedisConnectionException;
import io.valkey.exceptions.JedisException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.api.common.operators.ProcessingTimeService;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Histogram;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.runtime.metrics.DescriptiveStatisticsHistogram;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The writer behind {@link ValkeySink}. Runs in the task's mailbox thread (writes, timer and
 * checkpoint flushes alike), so the buffer needs no locking.
 *
 * <p>Metrics ({@code tally} group): {@code sinkBatches}, {@code sinkRetries}, {@code scriptCalls},
 * {@code updatesApplied}, and the histogram {@code endToEndLatencyMs}: from the Kafka append time
 * of the event behind an update to Valkey acknowledging it (both wall clocks of this machine or
 * cluster: keep them in sync).
 */
final class ValkeySinkWriter implements SinkWriter<ViewUpdate> {

  private static final Logger LOG = LoggerFactory.getLogger(ValkeySinkWriter.class);
  private static final Duration FIRST_BACKOFF = Duration.ofMillis(100);
  private static final Duration MAX_BACKOFF = Duration.ofSeconds(5);

  /** Updates per script call: bounds how long one call holds the single-threaded server. */
  private static final int MAX_PER_CALL = 1000;

  private final ValkeyEndpoint endpoint;
  private final int generation;
  private final int maxBatch;
  private final Duration maxDelay;
  private final ProcessingTimeService time;
  private final List<ViewUpdate> buffer = new ArrayList<>();
  private final Counter batches;
  private final Counter retries;
  private final Counter scriptCalls;
  private final Counter applied;
  private final Histogram latency;
  private ValkeyViewStore store;
  private boolean timerPending;

  ValkeySinkWriter(
      ValkeyEndpoint endpoint,
      int generation,
      int maxBatch,
      Duration maxDelay,
      ProcessingTimeService time,
      MetricGroup metrics) {
    this.endpoint = endpoint;
    this.generation = generation;
    this.maxBatch = maxBatch;
    this.maxDelay = maxDelay;
    this.time = time;
    MetricGroup group = metrics.addGroup("tally");
    this.batches = group.counter("sinkBatches");
    this.retries = group.counter("sinkRetries");
    this.scriptCalls = group.counter("scriptCalls");
    this.applied = group.counter("updatesApplied");
    this.latency = group.histogram("endToEndLatencyMs", new DescriptiveStatisticsHistogram(10_000));
  }

  @Override
  public void write(ViewUpdate update, Context context) throws InterruptedException {
    // Held across calls: copy, as the runtime may reuse the instance (pipeline.object-reuse).
    buffer.add(update.copy());
    if (buffer.size() >= maxBatch) {
      flushBuffer();
    } else if (!timerPending) {
      timerPending = true;
      time.registerTimer(
          time.getCurrentProcessingTime() + maxDelay.toMillis(),
          firedAt -> {
            timerPending = false;
            flushBuffer();
          });
    }
  }

  @Override
  public void flush(boolean endOfInput) throws InterruptedException {
    flushBuffer();
  }

  private void flushBuffer() throws InterruptedException {
    if (buffer.isEmpty()) {
      return;
    }
    Duration backoff = FIRST_BACKOFF;
    while (true) {
      try {
        if (store == null) {
          store = new ValkeyViewStore(endpoint, generation, MAX_PER_CALL);
        }
        ValkeyViewStore.Result result = store.apply(buffer);
        long now = System.currentTimeMillis();
        for (ViewUpdate update : buffer) {
          if (update.sourceTimestamp > 0) {
            latency.update(now - update.sourceTimestamp);
          }
        }
        batches.inc();
        scriptCalls.inc(result.calls());
        applied.inc(result.applied());
        buffer.clear();
        return;
      } catch (JedisConnectionException | io.valkey.exceptions.JedisClusterOperationException e) {
        retry(e, backoff);
      } catch (JedisException e) {
        // A server-side error (LOADING after a restart, a failover in progress) is retried too;
        // the script itself is deterministic, so a real bug fails the same way every time and
        // shows in the logs and in sinkRetries.
        retry(e, backoff);
      }
      backoff =
          backoff.multipliedBy(2).compareTo(MAX_BACKOFF) > 0
              ? MAX_BACKOFF
              : backoff.multipliedBy(2);
    }
  }

  private void retry(Exception e, Duration backoff) throws InterruptedException {
    retries.inc();
    LOG.warn(
        "Valkey {} unavailable ({}); retrying {} buffered updates in {} ms",
        endpoint,
        e.toString(),
        buffer.size(),
        backoff.toMillis());
    if (store != null) {
      try {
        store.close();
      } catch (RuntimeException closing) {
        LOG.debug("closing the broken Valkey client failed", closing);
      }
      store = null;
    }
    Thread.sleep(backoff.toMillis());
  }

  @Override
  public void close() {
    if (store != null) {
      store.close();
    }
  }
}
