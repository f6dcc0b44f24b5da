package dev.tally.jobs.sinks;

import dev.tally.common.views.ValkeyEndpoint;
import dev.tally.common.views.ValkeyViewStore;
import dev.tally.common.views.ViewUpdate;
import io.valkey.exceptions.JedisClusterOperationException;
import io.valkey.exceptions.JedisConnectionException;
import io.valkey.exceptions.JedisDataException;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.WriterInitContext;

/**
 * Writes view updates to Valkey through the versioned Lua script ({@link ValkeyViewStore}), in
 * batches off the task thread ({@link BatchedWriter}): flushed at {@code maxBatch} entries, {@code
 * maxDelay} after the first, and before every checkpoint. A lost connection, a server still loading
 * its data, a cluster failover ({@code TRYAGAIN}, {@code CLUSTERDOWN}, {@code READONLY}, {@code
 * MASTERDOWN}) are retried with backoff; any other error (a script error, a key of the wrong type)
 * fails the task at once with the server's message.
 */
public final class ValkeySink implements Sink<ViewUpdate> {

  /** While catching up: batches up to this many entries … (see {@link BatchedWriter}). */
  static final int CATCH_UP_BATCH = 50_000;

  /** … or this long. */
  static final Duration CATCH_UP_DELAY = Duration.ofSeconds(1);

  private static final long serialVersionUID = 2L;

  /** Server errors that pass by themselves (by their first word). */
  static final Set<String> TRANSIENT_ERRORS =
      Set.of("LOADING", "TRYAGAIN", "CLUSTERDOWN", "READONLY", "MASTERDOWN", "BUSY");

  /** Updates per script call: bounds how long one call holds the single-threaded server. */
  static final int MAX_PER_CALL = 1000;

  private final ValkeyEndpoint endpoint;
  private final int generation;
  private final int maxBatch;
  private final Duration maxDelay;
  private final int retries;
  private final CacheWarden.Source warmFrom;

  /**
   * @param retries attempts after the first on a transient failure (100 ms, 200 ms, … up to 5 s
   *     apart) before the task fails
   */
  public ValkeySink(
      ValkeyEndpoint endpoint, int generation, int maxBatch, Duration maxDelay, int retries) {
    this(endpoint, generation, maxBatch, maxDelay, retries, null);
  }

  private ValkeySink(
      ValkeyEndpoint endpoint,
      int generation,
      int maxBatch,
      Duration maxDelay,
      int retries,
      CacheWarden.Source warmFrom) {
    this.endpoint = endpoint;
    this.generation = generation;
    this.maxBatch = maxBatch;
    this.maxDelay = maxDelay;
    this.retries = retries;
    this.warmFrom = warmFrom;
  }

  /**
   * The same sink, whose subtask 0 also keeps the cache complete ({@link CacheWarden}), refilling
   * Valkey from this PostgreSQL. Give one sink of a job this role.
   */
  public ValkeySink keepingCompleteFrom(String jdbcUrl, String user, String password) {
    return new ValkeySink(
        endpoint,
        generation,
        maxBatch,
        maxDelay,
        retries,
        new CacheWarden.Source(jdbcUrl, user, password));
  }

  @Override
  public SinkWriter<ViewUpdate> createWriter(WriterInitContext context) {
    BatchedWriter writer = batchedWriter(context);
    if (warmFrom == null || context.getTaskInfo().getIndexOfThisSubtask() != 0) {
      return writer;
    }
    CacheWarden warden =
        new CacheWarden(
            endpoint,
            generation,
            warmFrom,
            context.metricGroup(),
            "cache-warden " + context.getTaskInfo().getTaskNameWithSubtasks());
    return new WardedWriter(writer, warden);
  }

  /** A writer that also tells the warden of every checkpoint barrier it flushes for. */
  private record WardedWriter(BatchedWriter writer, CacheWarden warden)
      implements SinkWriter<ViewUpdate> {
    @Override
    public void write(ViewUpdate update, Context context)
        throws java.io.IOException, InterruptedException {
      writer.write(update, context);
    }

    @Override
    public void flush(boolean endOfInput) throws java.io.IOException, InterruptedException {
      writer.flush(endOfInput);
      if (!endOfInput) {
        warden.barrier();
      }
    }

    @Override
    public void close() throws Exception {
      try {
        warden.close();
      } finally {
        writer.close();
      }
    }
  }

  private BatchedWriter batchedWriter(WriterInitContext context) {
    return new BatchedWriter(
        new Target(endpoint, generation),
        maxBatch,
        maxDelay,
        CATCH_UP_BATCH,
        CATCH_UP_DELAY,
        retries,
        Duration.ofMillis(100),
        Duration.ofSeconds(5),
        context.getProcessingTimeService(),
        context.getMailboxExecutor(),
        context.metricGroup(),
        "valkey-writer " + context.getTaskInfo().getTaskNameWithSubtasks(),
        // Cheap here (batches wait milliseconds, not seconds), and the cache warden counts on it.
        BatchedWriter.AtBarrier.WRITE_ALL,
        List.of());
  }

  /** The script calls, on the writer's I/O thread. */
  static final class Target implements BatchedWriter.Target {
    private final ValkeyEndpoint endpoint;
    private final int generation;
    private ValkeyViewStore store;

    Target(ValkeyEndpoint endpoint, int generation) {
      this.endpoint = endpoint;
      this.generation = generation;
    }

    @Override
    public BatchedWriter.Written write(List<ViewUpdate> batch) {
      if (store == null) {
        store = new ValkeyViewStore(endpoint, generation, MAX_PER_CALL);
      }
      ValkeyViewStore.Result result = store.applyDistinct(batch);
      return new BatchedWriter.Written(result.applied(), result.calls());
    }

    @Override
    public boolean isTransient(Exception failure) {
      if (failure instanceof JedisConnectionException
          || failure instanceof JedisClusterOperationException) {
        return true;
      }
      if (failure instanceof JedisDataException data && data.getMessage() != null) {
        String first = data.getMessage().split(" ", 2)[0];
        return TRANSIENT_ERRORS.contains(first);
      }
      return false;
    }

    @Override
    public void reset() {
      close();
    }

    @Override
    public String describe() {
      return "Valkey " + endpoint;
    }

    @Override
    public void close() {
      if (store != null) {
        try {
          store.close();
        } catch (RuntimeException closing) {
          // A broken connection may fail to close; it is dropped either way.
        }
        store = null;
      }
    }
  }
}
