package dev.tally.jobs.projection;

import java.io.IOException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.WriterInitContext;

/**
 * Wraps a sink and makes its writers fail once, mid-stream: after {@code afterWrites} writes and at
 * least {@code afterCheckpoints} checkpoint flushes, so the job has a checkpoint to restart from.
 * The "once" is per name and JVM (the MiniCluster runs in the test's JVM).
 */
final class FailOnceSink<T> implements Sink<T> {

  private static final long serialVersionUID = 1L;
  private static final ConcurrentHashMap<String, AtomicBoolean> FAILED = new ConcurrentHashMap<>();

  private final Sink<T> delegate;
  private final String name;
  private final long afterWrites;
  private final int afterCheckpoints;

  FailOnceSink(Sink<T> delegate, String name, long afterWrites, int afterCheckpoints) {
    this.delegate = delegate;
    this.name = name;
    this.afterWrites = afterWrites;
    this.afterCheckpoints = afterCheckpoints;
    FAILED.put(name, new AtomicBoolean());
  }

  static boolean failed(String name) {
    return FAILED.get(name).get();
  }

  @Override
  public SinkWriter<T> createWriter(WriterInitContext context) throws IOException {
    SinkWriter<T> writer = delegate.createWriter(context);
    return new SinkWriter<>() {
      private long writes;
      private int checkpoints;

      @Override
      public void write(T element, Context writeContext) throws IOException, InterruptedException {
        writer.write(element, writeContext);
        if (++writes >= afterWrites
            && checkpoints >= afterCheckpoints
            && FAILED.get(name).compareAndSet(false, true)) {
          throw new IOException(
              "injected failure after " + writes + " writes and " + checkpoints + " checkpoints");
        }
      }

      @Override
      public void flush(boolean endOfInput) throws IOException, InterruptedException {
        writer.flush(endOfInput);
        checkpoints++;
      }

      @Override
      public void close() throws Exception {
        writer.close();
      }
    };
  }
}
