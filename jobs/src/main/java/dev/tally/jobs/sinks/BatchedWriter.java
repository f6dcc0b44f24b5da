package dev.tally.jobs.sinks;

import dev.tally.common.views.ViewUpdate;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.apache.flink.api.common.operators.MailboxExecutor;
import org.apache.flink.api.common.operators.ProcessingTimeService;
import org.apache.flink.api.connector.sink2.StatefulSinkWriter;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Histogram;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.runtime.metrics.DescriptiveStatisticsHistogram;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes view updates to a store in batches, off the task thread. Runs chained to the operator that
 * makes the updates, so they never cross a network channel.
 *
 * <p>Updates wait in a buffer that keeps only the newest version per entry and writer (the stores
 * would ignore the older ones anyway): a hot entry is written once per batch, however often it
 * changed. A batch goes to the writer's own I/O thread when {@code maxBatch} entries wait or {@code
 * maxDelay} after the first of them; while it is being written the next one fills (and coalesces).
 * While the updates come from events more than ten seconds behind the log (a catch-up, a replay:
 * nobody waits for them), batches grow to {@code catchUpBatch} entries and wait up to {@code
 * catchUpDelay}, so more of them coalesce. With one batch in flight and twice a batch waiting, the
 * task waits for the store: backpressure, nothing dropped. What a checkpoint barrier does depends
 * on the {@link AtBarrier} mode: {@code WRITE_ALL} waits until everything the writer was given is
 * written, so the checkpoint never needs the buffer; {@code CARRY_OVER} waits only for what the
 * previous barrier left (long written, unless the store is slower than a checkpoint interval),
 * sends what waits now without waiting for it, and puts everything unwritten in the checkpoint as
 * writer state, written again after a restore. Either way at-least-once: the stores' version guard
 * makes repeats harmless. At the end of input both wait until everything is written.
 *
 * <p>Failures the target calls transient are retried on the I/O thread with backoff ({@code
 * firstBackoff}, doubling, capped at {@code maxBackoff}) for up to {@code retries} attempts; then,
 * or at once for any other failure, the task fails and restarts from its checkpoint.
 *
 * <p>Metrics ({@code tally} group): {@code sinkBatches}, {@code sinkRetries}, {@code
 * updatesApplied} (newer than what the store held), {@code storeCalls}, and {@code
 * endToEndLatencyMs}: from the Kafka append time of the event behind an update to the store
 * acknowledging it (the broker's and the TaskManager's wall clocks: keep them in sync).
 */
final class BatchedWriter implements StatefulSinkWriter<ViewUpdate, ViewUpdate> {

  private static final Logger LOG = LoggerFactory.getLogger(BatchedWriter.class);

  /** Updates from events appended longer ago than this come from a catch-up, not live reads. */
  static final long BEHIND_MS = 10_000;

  /** CARRY_OVER: how long closing waits to write what is still unwritten. */
  static final Duration CLOSE_WAIT = Duration.ofSeconds(10);

  /** What a checkpoint barrier waits for (see the class comment). */
  enum AtBarrier {
    /** Everything given so far written: the checkpoint holds none of it. */
    WRITE_ALL,
    /**
     * What the previous barrier left written; the rest goes into the checkpoint. The barrier does
     * not wait for the store, so the task's events do not wait behind a commit either.
     */
    CARRY_OVER
  }

  /** A store that takes batches. Its methods run on the writer's I/O thread only. */
  interface Target extends AutoCloseable {

    /** Writes a batch of updates, distinct per entry and writer; what it did. */
    Written write(List<ViewUpdate> batch) throws Exception;

    /** Whether a failure may pass by itself (connection lost, server loading, failover). */
    boolean isTransient(Exception failure);

    /** Drops a connection after a failure, so the next attempt opens a new one. */
    void reset();

    /** For logs and errors, e.g. {@code Valkey redis://host:6379}. */
    String describe();

    @Override
    void close();
  }

  /**
   * What one batch did.
   *
   * @param applied updates newer than what the store held
   * @param calls requests sent to the store (script calls, statements)
   */
  record Written(long applied, int calls) {}

  /** A batch's outcome, handed back to the task thread. */
  private record Outcome(List<ViewUpdate> batch, Written written, int retries, Exception failure) {}

  private final Target target;
  private final int maxBatch;
  private final long maxDelayMs;
  private final int catchUpBatch;
  private final long catchUpDelayMs;
  private final int retries;
  private final Duration firstBackoff;
  private final Duration maxBackoff;
  private final ProcessingTimeService time;
  private final MailboxExecutor mailbox;
  private final ExecutorService io;
  private final AtBarrier atBarrier;

  private LinkedHashMap<ViewUpdate.Identity, ViewUpdate> waiting = new LinkedHashMap<>();
  private boolean inFlight;
  private List<ViewUpdate> inFlightBatch = List.of();

  /** Batches handed to the I/O thread, and of those the ones written. */
  private long sentBatches;

  private long writtenBatches;

  /** CARRY_OVER: batches that must be written when the next barrier comes. */
  private long dueAtNextBarrier;

  private boolean timerArmed;
  private boolean due;

  /** Whether the waiting updates come from events behind the log (set by the first of them). */
  private boolean behind;

  private IOException failure;

  private final Counter batches;
  private final Counter retried;
  private final Counter calls;
  private final Counter applied;
  private final Histogram latency;

  /** The same latency per view ({@code tally.view.<view>.endToEndLatencyMs}), by view name. */
  private final Map<String, Histogram> latencyByView = new HashMap<>();

  private final MetricGroup group;

  BatchedWriter(
      Target target,
      int maxBatch,
      Duration maxDelay,
      int catchUpBatch,
      Duration catchUpDelay,
      int retries,
      Duration firstBackoff,
      Duration maxBackoff,
      ProcessingTimeService time,
      MailboxExecutor mailbox,
      MetricGroup metrics,
      String threadName,
      AtBarrier atBarrier,
      Collection<ViewUpdate> restored) {
    this.target = target;
    this.atBarrier = atBarrier;
    this.maxBatch = maxBatch;
    this.maxDelayMs = Math.max(1, maxDelay.toMillis());
    this.catchUpBatch = Math.max(maxBatch, catchUpBatch);
    this.catchUpDelayMs = Math.max(maxDelayMs, catchUpDelay.toMillis());
    this.retries = retries;
    this.firstBackoff = firstBackoff;
    this.maxBackoff = maxBackoff;
    this.time = time;
    this.mailbox = mailbox;
    this.io =
        Executors.newSingleThreadExecutor(
            runnable -> {
              Thread thread = new Thread(runnable, threadName);
              thread.setDaemon(true);
              return thread;
            });
    MetricGroup group = metrics.addGroup("tally");
    this.batches = group.counter("sinkBatches");
    this.retried = group.counter("sinkRetries");
    this.calls = group.counter("storeCalls");
    this.applied = group.counter("updatesApplied");
    this.latency = group.histogram("endToEndLatencyMs", new DescriptiveStatisticsHistogram(10_000));
    this.group = group;
    if (!restored.isEmpty()) {
      // What a checkpoint held unwritten: written first, as a catch-up batch.
      behind = true;
      for (ViewUpdate update : restored) {
        waiting.merge(
            update.coalesceKey(), update, (old, next) -> next.version >= old.version ? next : old);
      }
      timerArmed = true;
      time.registerTimer(time.getCurrentProcessingTime(), firedAt -> onTimer());
    }
  }

  @Override
  public void write(ViewUpdate update, Context context) throws IOException, InterruptedException {
    throwIfFailed();
    // Held across calls: copy, as the runtime may reuse the instance (pipeline.object-reuse).
    ViewUpdate held = update.copy();
    long now = time.getCurrentProcessingTime();
    if (waiting.isEmpty()) {
      behind = update.sourceTimestamp > 0 && now - update.sourceTimestamp > BEHIND_MS;
    }
    waiting.merge(
        held.coalesceKey(), held, (old, next) -> next.version >= old.version ? next : old);
    int batch = behind ? catchUpBatch : maxBatch;
    if (waiting.size() >= batch) {
      if (!inFlight) {
        send();
      } else if (waiting.size() >= 2 * batch) {
        awaitInFlight();
        send();
      }
    } else if (!timerArmed) {
      timerArmed = true;
      long delay = behind ? catchUpDelayMs : maxDelayMs;
      time.registerTimer(now + delay, firedAt -> onTimer());
    }
  }

  private void onTimer() throws IOException {
    timerArmed = false;
    throwIfFailed();
    if (waiting.isEmpty()) {
      return;
    }
    if (inFlight) {
      due = true;
    } else {
      send();
    }
  }

  @Override
  public void flush(boolean endOfInput) throws IOException, InterruptedException {
    throwIfFailed();
    if (atBarrier == AtBarrier.CARRY_OVER && !endOfInput) {
      // What the previous barrier left must be written by now; then send what waits, unawaited.
      while (writtenBatches < dueAtNextBarrier) {
        if (!inFlight && !waiting.isEmpty()) {
          send();
        }
        mailbox.yield();
        throwIfFailed();
      }
      if (!waiting.isEmpty()) {
        if (inFlight) {
          due = true;
        } else {
          send();
        }
      }
      dueAtNextBarrier = waiting.isEmpty() ? sentBatches : sentBatches + 1;
      return;
    }
    awaitInFlight();
    if (!waiting.isEmpty()) {
      send();
      awaitInFlight();
    }
  }

  /**
   * Everything given and not yet known written, for the checkpoint (CARRY_OVER; WRITE_ALL has
   * written it all in {@link #flush}). The batch in flight is included: it may fail yet, and a
   * repeat is harmless.
   */
  @Override
  public List<ViewUpdate> snapshotState(long checkpointId) {
    if (inFlightBatch.isEmpty() && waiting.isEmpty()) {
      return List.of();
    }
    List<ViewUpdate> unwritten = new ArrayList<>(inFlightBatch.size() + waiting.size());
    unwritten.addAll(inFlightBatch);
    unwritten.addAll(waiting.values());
    return unwritten;
  }

  private void awaitInFlight() throws IOException, InterruptedException {
    while (inFlight) {
      mailbox.yield();
    }
    throwIfFailed();
  }

  private void send() {
    List<ViewUpdate> batch = new ArrayList<>(waiting.values());
    // Sized for a batch like this one: a catch-up's 50,000-entry buffer would otherwise grow
    // through a dozen rehashes every batch.
    waiting = new LinkedHashMap<>(batch.size() * 4 / 3 + 16);
    due = false;
    inFlight = true;
    inFlightBatch = batch;
    sentBatches++;
    io.execute(
        () -> {
          Outcome outcome = writeWithRetries(batch);
          try {
            mailbox.execute(() -> completed(outcome), "batch written to %s", target.describe());
          } catch (java.util.concurrent.RejectedExecutionException closed) {
            // The task is closing (see close()): nobody waits for the outcome any more.
            LOG.debug("{}: a batch completed after its task closed", target.describe());
          }
        });
  }

  /** On the I/O thread. */
  private Outcome writeWithRetries(List<ViewUpdate> batch) {
    Duration backoff = firstBackoff;
    for (int attempt = 1; ; attempt++) {
      try {
        return new Outcome(batch, target.write(batch), attempt - 1, null);
      } catch (Throwable thrown) {
        target.reset();
        Exception e =
            thrown instanceof Exception exception
                ? exception
                : new IOException("the store client failed: " + thrown, thrown);
        if (!(thrown instanceof Exception) || !target.isTransient(e) || attempt > retries) {
          return new Outcome(batch, null, attempt - 1, e);
        }
        LOG.warn(
            "{} unavailable ({}); retrying {} updates in {} ms (attempt {} of {})",
            target.describe(),
            e.toString(),
            batch.size(),
            backoff.toMillis(),
            attempt,
            retries);
        try {
          Thread.sleep(backoff.toMillis());
        } catch (InterruptedException interrupted) {
          Thread.currentThread().interrupt();
          return new Outcome(batch, null, attempt - 1, interrupted);
        }
        backoff =
            backoff.multipliedBy(2).compareTo(maxBackoff) > 0
                ? maxBackoff
                : backoff.multipliedBy(2);
      }
    }
  }

  /** On the task thread. */
  private void completed(Outcome outcome) throws IOException {
    inFlight = false;
    inFlightBatch = List.of();
    retried.inc(outcome.retries());
    if (outcome.failure() != null) {
      failure =
          new IOException(
              "writing "
                  + outcome.batch().size()
                  + " view updates to "
                  + target.describe()
                  + " failed"
                  + (outcome.retries() > 0 ? " after " + outcome.retries() + " retries" : "")
                  + ": "
                  + outcome.failure(),
              outcome.failure());
      throw failure;
    }
    long now = System.currentTimeMillis();
    for (ViewUpdate update : outcome.batch()) {
      if (update.sourceTimestamp > 0) {
        latency.update(now - update.sourceTimestamp);
        viewLatency(update.view).update(now - update.sourceTimestamp);
      }
    }
    writtenBatches++;
    batches.inc();
    calls.inc(outcome.written().calls());
    applied.inc(outcome.written().applied());
    if (!waiting.isEmpty() && (due || waiting.size() >= (behind ? catchUpBatch : maxBatch))) {
      send();
    }
  }

  /** A view's latency histogram, registered at its first update. */
  private Histogram viewLatency(String view) {
    Histogram histogram = latencyByView.get(view);
    if (histogram == null) {
      histogram =
          group
              .addGroup("view", view)
              .histogram("endToEndLatencyMs", new DescriptiveStatisticsHistogram(10_000));
      latencyByView.put(view, histogram);
    }
    return histogram;
  }

  private void throwIfFailed() throws IOException {
    if (failure != null) {
      throw failure;
    }
  }

  @Override
  public void close() throws InterruptedException {
    if (atBarrier == AtBarrier.CARRY_OVER && failure == null) {
      // A job stopped with a savepoint (a cutover, a repair) leaves its store complete, not only
      // its savepoint: what waits is written after the batch in flight, for up to CLOSE_WAIT.
      // (After a failure or a kill, the last checkpoint has it: written again after the restart.)
      List<ViewUpdate> rest = new ArrayList<>(waiting.values());
      if (!rest.isEmpty()) {
        io.execute(() -> writeOnClose(rest));
      }
      io.shutdown();
      boolean written;
      try {
        written =
            io.awaitTermination(CLOSE_WAIT.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
      } catch (InterruptedException cancelled) {
        // A cancelled task: its I/O thread must not go on writing beside the next attempt.
        io.shutdownNow();
        target.close();
        throw cancelled;
      }
      if (written) {
        target.close();
        return;
      }
      LOG.warn(
          "{}: {} updates not written within {} s of closing; the last checkpoint holds them",
          target.describe(),
          rest.size() + inFlightBatch.size(),
          CLOSE_WAIT.toSeconds());
    }
    // Whatever is unwritten is re-read from the last checkpoint when the job restarts.
    io.shutdownNow();
    if (!io.awaitTermination(10, java.util.concurrent.TimeUnit.SECONDS)) {
      LOG.warn("{} writer thread did not stop within 10 s", target.describe());
    }
    target.close();
  }

  /** On the I/O thread, after the batch in flight: no retries, the checkpoint is the fallback. */
  private void writeOnClose(List<ViewUpdate> rest) {
    try {
      target.write(rest);
    } catch (Exception e) {
      LOG.warn(
          "{}: writing {} updates on close failed ({}); the last checkpoint holds them",
          target.describe(),
          rest.size(),
          e.toString());
    }
  }

  /** For tests: how many updates wait (distinct per entry and writer). */
  int waiting() {
    return waiting.size();
  }
}
