package dev.tally.jobs.sinks;

import java.io.IOException;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Wraps an at-least-once sink so that closing its writer never throws. flink-connector-jdbc's
 * writer flushes in {@code close()} and rethrows when the database is gone; Flink closes writers
 * while it handles the very failure that made the database unreachable, and an exception there is
 * fatal for the whole TaskManager. Nothing is lost by logging it instead: whatever the writer held
 * is re-read from the last checkpoint when the job restarts.
 *
 * <p>For the same reason an {@link AssertionError} the PostgreSQL driver raises on a connection
 * that died mid-batch ({@code getAutoCommit() should not throw}) is turned into an {@link
 * IOException}: a failed write restarts the job's region from its checkpoint; a {@link Error}
 * escaping the task would stop the TaskManager.
 */
public final class QuietCloseSink<T> implements Sink<T> {

  private static final long serialVersionUID = 1L;
  private static final Logger LOG = LoggerFactory.getLogger(QuietCloseSink.class);

  private final Sink<T> delegate;

  public QuietCloseSink(Sink<T> delegate) {
    this.delegate = delegate;
  }

  @Override
  public SinkWriter<T> createWriter(WriterInitContext context) throws IOException {
    SinkWriter<T> writer = delegate.createWriter(context);
    return new SinkWriter<>() {
      @Override
      public void write(T element, Context writeContext) throws IOException, InterruptedException {
        try {
          writer.write(element, writeContext);
        } catch (AssertionError e) {
          throw new IOException("the sink writer failed: " + e.getMessage(), e);
        }
      }

      @Override
      public void flush(boolean endOfInput) throws IOException, InterruptedException {
        try {
          writer.flush(endOfInput);
        } catch (AssertionError e) {
          throw new IOException("the sink writer failed to flush: " + e.getMessage(), e);
        }
      }

      @Override
      public void close() {
        try {
          writer.close();
        } catch (Exception | AssertionError e) {
          LOG.warn(
              "closing the sink writer failed; its unwritten records are replayed from the last checkpoint",
              e);
        }
      }
    };
  }
}
