package dev.tally.jobs.projection;

import java.io.IOException;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.annotation.Nullable;
import org.apache.flink.api.common.eventtime.Watermark;
import org.apache.flink.api.connector.source.Boundedness;
import org.apache.flink.api.connector.source.ReaderOutput;
import org.apache.flink.api.connector.source.Source;
import org.apache.flink.api.connector.source.SourceEvent;
import org.apache.flink.api.connector.source.SourceOutput;
import org.apache.flink.api.connector.source.SourceReader;
import org.apache.flink.api.connector.source.SourceReaderContext;
import org.apache.flink.api.connector.source.SourceSplit;
import org.apache.flink.api.connector.source.SplitEnumerator;
import org.apache.flink.api.connector.source.SplitEnumeratorContext;
import org.apache.flink.core.io.InputStatus;

/**
 * A lane's source as the projection reads it: the wrapped source, which also tells Flink when it is
 * behind the log, and whose subtasks, when it is bounded, end together.
 *
 * <p><b>Behind.</b> A subtask reading records appended more than {@link #BEHIND_MS} ago (a
 * catch-up, a rebuild, a replay) is behind until it reads records appended less than half that ago.
 * While any subtask of any source is behind, Flink checkpoints at {@code
 * execution.checkpointing.interval-during-backlog} instead of {@code
 * execution.checkpointing.interval} (the job's {@code --checkpoint-interval-behind}): a catch-up is
 * not slowed by a live job's short interval (every checkpoint empties the bundles and waits for the
 * Valkey writers), and nobody waits for its events anyway. Which records are behind is judged by
 * their Kafka timestamps (the lane topics' append times) against this machine's clock; it only
 * changes when checkpoints are taken, never what the views hold.
 *
 * <p><b>Ending together.</b> A subtask of a bounded source that has read all its splits waits,
 * idle, until every subtask of the source has, and then they all end. A lane's admission ({@link
 * AdmitEvents}), chained to the source, checkpoints its partition clocks as union list state, and
 * Flink declines every checkpoint of a vertex with union state while some of its subtasks have
 * finished and others have not (the finished ones' union state would be missing from the
 * checkpoint). Without this, a bounded run (a rebuild, {@code --stop}) takes no checkpoint from the
 * moment its first source subtask is done — immediately when a subtask has no partition — until its
 * last one is. Waiting costs nothing: the waiting subtask has nothing left to read, and its final
 * watermark only comes later (watermarks drop count-view minutes that can no longer change; no
 * decision depends on them).
 *
 * <p>The splits, offsets, checkpoints and serializers are the wrapped source's, unchanged (same
 * uid, same state: a job restores across adding or removing this wrapper). Which subtasks are
 * behind or done is not checkpointed: after a restore every subtask reads on and says so again.
 */
final class LaneSource<T, S extends SourceSplit, E> extends WrappedSource<T, S, E> {

  private static final long serialVersionUID = 1L;

  /** Records appended longer ago than this are being caught up on, not read live. */
  static final long BEHIND_MS = ProjectLane.BEHIND_MS;

  /** A subtask behind the log that has had nothing to read for this long has read it all. */
  static final long IDLE_MS = 1_000;

  private final String lane;

  private LaneSource(Source<T, S, E> source, String lane) {
    super(source);
    this.lane = lane;
  }

  /** {@code source} as lane {@code lane} reads it (see the class comment). */
  static <T> Source<T, ?, ?> of(Source<T, ?, ?> source, String lane) {
    return wrap(source, lane);
  }

  private static <T, S extends SourceSplit, E> Source<T, S, E> wrap(
      Source<T, S, E> source, String lane) {
    return new LaneSource<>(source, lane);
  }

  /** A reader to the enumerator: it is now behind the log, or no longer. */
  record ReaderBehind(boolean behind) implements SourceEvent {}

  /** A reader of a bounded source to the enumerator: it has read everything it will be given. */
  record ReaderDone() implements SourceEvent {}

  /** The enumerator to the readers: every reader is done, end. */
  record AllDone() implements SourceEvent {}

  @Override
  public SourceReader<T, S> createReader(SourceReaderContext context) throws Exception {
    Reader<T, S> reader =
        new Reader<>(
            source.createReader(context), context, source.getBoundedness() == Boundedness.BOUNDED);
    context
        .metricGroup()
        .addGroup("tally")
        .addGroup("lane", lane)
        .gauge("readBehindMs", reader::readBehindMs);
    return reader;
  }

  @Override
  public SplitEnumerator<S, E> createEnumerator(SplitEnumeratorContext<S> context)
      throws Exception {
    return new Enumerator<>(super.createEnumerator(context), context);
  }

  @Override
  public SplitEnumerator<S, E> restoreEnumerator(SplitEnumeratorContext<S> context, E checkpoint)
      throws Exception {
    return new Enumerator<>(super.restoreEnumerator(context, checkpoint), context);
  }

  /**
   * The wrapped reader, saying when it falls behind the log and catches up; when bounded, idle
   * after its end until {@link AllDone}.
   */
  static final class Reader<T, S extends SourceSplit> implements SourceReader<T, S> {

    private final SourceReader<T, S> reader;
    private final SourceReaderContext context;
    private final boolean bounded;
    private final CompletableFuture<Void> released = new CompletableFuture<>();
    private boolean done;
    private boolean behind;
    // Also read by the metric reporter's thread (readBehindMs).
    private volatile long lastRecordAt;
    private volatile long lastAppendTime = Long.MIN_VALUE;
    private ReaderOutput<T> output;
    private WatchedOutput watched;

    Reader(SourceReader<T, S> reader, SourceReaderContext context, boolean bounded) {
      this.reader = reader;
      this.context = context;
      this.bounded = bounded;
    }

    @Override
    public void start() {
      reader.start();
    }

    @Override
    public InputStatus pollNext(ReaderOutput<T> output) throws Exception {
      if (!done) {
        if (output != this.output) {
          this.output = output;
          watched = new WatchedOutput(output);
        }
        InputStatus status = reader.pollNext(watched);
        if (status == InputStatus.NOTHING_AVAILABLE
            && behind
            && System.currentTimeMillis() - lastRecordAt >= IDLE_MS) {
          // Read to the end of the log: caught up, however old its last records were.
          observe(Long.MAX_VALUE);
        }
        if (status != InputStatus.END_OF_INPUT || !bounded) {
          return status;
        }
        done = true;
        observe(Long.MAX_VALUE);
        context.sendSourceEventToCoordinator(new ReaderDone());
      }
      return released.isDone() ? InputStatus.END_OF_INPUT : InputStatus.NOTHING_AVAILABLE;
    }

    /** A record appended at {@code appendTime} was read (MAX_VALUE: nothing is left to read). */
    private void observe(long appendTime) {
      long now = System.currentTimeMillis();
      lastRecordAt = now;
      lastAppendTime = appendTime;
      long lag = now - appendTime;
      if (!behind && lag > BEHIND_MS) {
        behind = true;
        context.sendSourceEventToCoordinator(new ReaderBehind(true));
      } else if (behind && lag < BEHIND_MS / 2) {
        behind = false;
        context.sendSourceEventToCoordinator(new ReaderBehind(false));
      }
    }

    /**
     * How far behind the log this subtask reads: now less the append time of the last record it
     * read; 0 before its first record and once it has had nothing to read for {@link #IDLE_MS} (it
     * has read everything there is). A catch-up's, a rebuild's or a replay's progress.
     */
    long readBehindMs() {
      long now = System.currentTimeMillis();
      long appended = lastAppendTime;
      if (appended == Long.MIN_VALUE
          || appended == Long.MAX_VALUE
          || now - lastRecordAt >= IDLE_MS) {
        return 0;
      }
      return Math.max(0, now - appended);
    }

    @Override
    public CompletableFuture<Void> isAvailable() {
      if (done) {
        return released;
      }
      CompletableFuture<Void> available = reader.isAvailable();
      if (!behind || available.isDone()) {
        return available;
      }
      // Behind and waiting for records: look again after IDLE_MS, to notice the end of the log.
      CompletableFuture<Void> later =
          CompletableFuture.runAsync(
              () -> {}, CompletableFuture.delayedExecutor(IDLE_MS, TimeUnit.MILLISECONDS));
      return available.applyToEither(later, ignored -> null);
    }

    /** An output of the runtime's, watching the Kafka timestamps of the records that pass. */
    private class WatchedSplitOutput implements SourceOutput<T> {

      private final SourceOutput<T> output;

      WatchedSplitOutput(SourceOutput<T> output) {
        this.output = output;
      }

      @Override
      public void collect(T record) {
        output.collect(record);
      }

      @Override
      public void collect(T record, long timestamp) {
        observe(timestamp);
        output.collect(record, timestamp);
      }

      @Override
      public void emitWatermark(Watermark watermark) {
        output.emitWatermark(watermark);
      }

      @Override
      public void markIdle() {
        output.markIdle();
      }

      @Override
      public void markActive() {
        output.markActive();
      }
    }

    /** The runtime's reader output, and each split's output it creates, watched. */
    private final class WatchedOutput extends WatchedSplitOutput implements ReaderOutput<T> {

      private final ReaderOutput<T> output;

      WatchedOutput(ReaderOutput<T> output) {
        super(output);
        this.output = output;
      }

      @Override
      public SourceOutput<T> createOutputForSplit(String splitId) {
        return new WatchedSplitOutput(output.createOutputForSplit(splitId));
      }

      @Override
      public void releaseOutputForSplit(String splitId) {
        output.releaseOutputForSplit(splitId);
      }
    }

    @Override
    public List<S> snapshotState(long checkpointId) {
      return reader.snapshotState(checkpointId);
    }

    @Override
    public void addSplits(List<S> splits) {
      reader.addSplits(splits);
    }

    @Override
    public void notifyNoMoreSplits() {
      reader.notifyNoMoreSplits();
    }

    @Override
    public void handleSourceEvents(SourceEvent event) {
      if (event instanceof AllDone) {
        released.complete(null);
      } else {
        reader.handleSourceEvents(event);
      }
    }

    @Override
    public void notifyCheckpointComplete(long checkpointId) throws Exception {
      reader.notifyCheckpointComplete(checkpointId);
    }

    @Override
    public void notifyCheckpointAborted(long checkpointId) throws Exception {
      reader.notifyCheckpointAborted(checkpointId);
    }

    @Override
    public void pauseOrResumeSplits(Collection<String> toPause, Collection<String> toResume) {
      reader.pauseOrResumeSplits(toPause, toResume);
    }

    @Override
    public void close() throws Exception {
      reader.close();
    }
  }

  /**
   * The wrapped enumerator; reports the source as processing a backlog while any reader is behind,
   * and releases the readers of a bounded source once every one of them is done.
   */
  static final class Enumerator<S extends SourceSplit, E> implements SplitEnumerator<S, E> {

    private final SplitEnumerator<S, E> enumerator;
    private final SplitEnumeratorContext<S> context;
    private final Set<Integer> done = new HashSet<>();
    private final Set<Integer> behind = new HashSet<>();
    private boolean released;

    Enumerator(SplitEnumerator<S, E> enumerator, SplitEnumeratorContext<S> context) {
      this.enumerator = enumerator;
      this.context = context;
    }

    @Override
    public void start() {
      // No reader has said it is behind yet. Said explicitly: after a failover this enumerator is
      // new, but Flink's checkpoint coordinator may still hold the previous one's "behind".
      context.setIsProcessingBacklog(false);
      enumerator.start();
    }

    @Override
    public void handleSplitRequest(int subtaskId, @Nullable String requesterHostname) {
      enumerator.handleSplitRequest(subtaskId, requesterHostname);
    }

    @Override
    public void addSplitsBack(List<S> splits, int subtaskId) {
      enumerator.addSplitsBack(splits, subtaskId);
    }

    @Override
    public void addReader(int subtaskId) {
      // A reader that (re)starts reads on and says when it is behind or done again.
      done.remove(subtaskId);
      setBehind(subtaskId, false);
      enumerator.addReader(subtaskId);
    }

    @Override
    public void handleSourceEvent(int subtaskId, SourceEvent event) {
      if (event instanceof ReaderBehind report) {
        setBehind(subtaskId, report.behind());
        return;
      }
      if (!(event instanceof ReaderDone)) {
        enumerator.handleSourceEvent(subtaskId, event);
        return;
      }
      done.add(subtaskId);
      if (released) {
        // Restarted after the others were released (and some may have ended): only this one.
        context.sendEventToSourceReader(subtaskId, new AllDone());
      } else if (done.size() == context.currentParallelism()) {
        // All are done and waiting, none has ended yet: release them all.
        released = true;
        for (int reader : done) {
          context.sendEventToSourceReader(reader, new AllDone());
        }
      }
    }

    private void setBehind(int subtaskId, boolean isBehind) {
      boolean before = !behind.isEmpty();
      if (isBehind) {
        behind.add(subtaskId);
      } else {
        behind.remove(subtaskId);
      }
      if (before != !behind.isEmpty()) {
        context.setIsProcessingBacklog(!behind.isEmpty());
      }
    }

    @Override
    public E snapshotState(long checkpointId) throws Exception {
      return enumerator.snapshotState(checkpointId);
    }

    @Override
    public void notifyCheckpointComplete(long checkpointId) throws Exception {
      enumerator.notifyCheckpointComplete(checkpointId);
    }

    @Override
    public void notifyCheckpointAborted(long checkpointId) throws Exception {
      enumerator.notifyCheckpointAborted(checkpointId);
    }

    @Override
    public void close() throws IOException {
      enumerator.close();
    }
  }
}
