package dev.tally.jobs.projection;

import java.io.IOException;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import javax.annotation.Nullable;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.connector.source.Boundedness;
import org.apache.flink.api.connector.source.ReaderOutput;
import org.apache.flink.api.connector.source.Source;
import org.apache.flink.api.connector.source.SourceEvent;
import org.apache.flink.api.connector.source.SourceReader;
import org.apache.flink.api.connector.source.SourceReaderContext;
import org.apache.flink.api.connector.source.SourceSplit;
import org.apache.flink.api.connector.source.SplitEnumerator;
import org.apache.flink.api.connector.source.SplitEnumeratorContext;
import org.apache.flink.api.java.typeutils.ResultTypeQueryable;
import org.apache.flink.core.io.InputStatus;
import org.apache.flink.core.io.SimpleVersionedSerializer;

/**
 * A bounded source whose subtasks end together: a subtask that has read all its splits waits, idle,
 * until every subtask of the source has, and then they all end.
 *
 * <p>Why: a lane's admission ({@link AdmitEvents}), chained to the source, checkpoints its
 * partition clocks as union list state, and Flink declines every checkpoint of a vertex with union
 * state while some of its subtasks have finished and others have not (the finished ones' union
 * state would be missing from the checkpoint). Without this, a bounded run (a rebuild, {@code
 * --stop}) takes no checkpoint from the moment its first source subtask is done — immediately when
 * a subtask has no partition — until its last one is. Waiting costs nothing: the waiting subtask
 * has nothing left to read, and its final watermark only comes later (watermarks drop count-view
 * minutes that can no longer change; no decision depends on them).
 *
 * <p>The splits, offsets, checkpoints and serializers are the wrapped source's, unchanged (same
 * uid, same state: a job restores across adding or removing this wrapper). Which subtasks are done
 * is not checkpointed: after a restore every subtask reads on and says so again.
 */
final class JointEndSource<T, S extends SourceSplit, E>
    implements Source<T, S, E>, ResultTypeQueryable<T> {

  private static final long serialVersionUID = 1L;

  private final Source<T, S, E> source;

  private JointEndSource(Source<T, S, E> source) {
    this.source = source;
  }

  /** {@code source} with its subtasks ending together when it is bounded; else itself. */
  static <T> Source<T, ?, ?> endTogether(Source<T, ?, ?> source) {
    return source.getBoundedness() == Boundedness.BOUNDED ? wrap(source) : source;
  }

  private static <T, S extends SourceSplit, E> Source<T, S, E> wrap(Source<T, S, E> source) {
    return new JointEndSource<>(source);
  }

  /** A reader to the enumerator: it has read everything it will be given. */
  record ReaderDone() implements SourceEvent {}

  /** The enumerator to the readers: every reader is done, end. */
  record AllDone() implements SourceEvent {}

  @Override
  public Boundedness getBoundedness() {
    return source.getBoundedness();
  }

  @Override
  public SourceReader<T, S> createReader(SourceReaderContext context) throws Exception {
    return new Reader<>(source.createReader(context), context);
  }

  @Override
  public SplitEnumerator<S, E> createEnumerator(SplitEnumeratorContext<S> context)
      throws Exception {
    return new Enumerator<>(source.createEnumerator(context), context);
  }

  @Override
  public SplitEnumerator<S, E> restoreEnumerator(SplitEnumeratorContext<S> context, E checkpoint)
      throws Exception {
    return new Enumerator<>(source.restoreEnumerator(context, checkpoint), context);
  }

  @Override
  public SimpleVersionedSerializer<S> getSplitSerializer() {
    return source.getSplitSerializer();
  }

  @Override
  public SimpleVersionedSerializer<E> getEnumeratorCheckpointSerializer() {
    return source.getEnumeratorCheckpointSerializer();
  }

  @Override
  @SuppressWarnings("unchecked")
  public TypeInformation<T> getProducedType() {
    if (source instanceof ResultTypeQueryable<?> typed) {
      return (TypeInformation<T>) typed.getProducedType();
    }
    throw new IllegalStateException(source + " does not say what type it produces");
  }

  /** The wrapped reader until it ends; then idle until {@link AllDone}. */
  static final class Reader<T, S extends SourceSplit> implements SourceReader<T, S> {

    private final SourceReader<T, S> reader;
    private final SourceReaderContext context;
    private final CompletableFuture<Void> released = new CompletableFuture<>();
    private boolean done;

    Reader(SourceReader<T, S> reader, SourceReaderContext context) {
      this.reader = reader;
      this.context = context;
    }

    @Override
    public void start() {
      reader.start();
    }

    @Override
    public InputStatus pollNext(ReaderOutput<T> output) throws Exception {
      if (!done) {
        InputStatus status = reader.pollNext(output);
        if (status != InputStatus.END_OF_INPUT) {
          return status;
        }
        done = true;
        context.sendSourceEventToCoordinator(new ReaderDone());
      }
      return released.isDone() ? InputStatus.END_OF_INPUT : InputStatus.NOTHING_AVAILABLE;
    }

    @Override
    public CompletableFuture<Void> isAvailable() {
      return done ? released : reader.isAvailable();
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

  /** The wrapped enumerator; releases the readers once every one of them is done. */
  static final class Enumerator<S extends SourceSplit, E> implements SplitEnumerator<S, E> {

    private final SplitEnumerator<S, E> enumerator;
    private final SplitEnumeratorContext<S> context;
    private final Set<Integer> done = new HashSet<>();
    private boolean released;

    Enumerator(SplitEnumerator<S, E> enumerator, SplitEnumeratorContext<S> context) {
      this.enumerator = enumerator;
      this.context = context;
    }

    @Override
    public void start() {
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
      // A reader that (re)starts reads on and says when it is done again.
      done.remove(subtaskId);
      enumerator.addReader(subtaskId);
    }

    @Override
    public void handleSourceEvent(int subtaskId, SourceEvent event) {
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
