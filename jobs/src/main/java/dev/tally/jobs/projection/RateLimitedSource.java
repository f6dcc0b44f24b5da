package dev.tally.jobs.projection;

import org.apache.flink.api.connector.source.Source;
import org.apache.flink.api.connector.source.SourceReader;
import org.apache.flink.api.connector.source.SourceReaderContext;
import org.apache.flink.api.connector.source.SourceSplit;
import org.apache.flink.api.connector.source.util.ratelimit.RateLimitedSourceReader;
import org.apache.flink.api.connector.source.util.ratelimit.RateLimiterStrategy;

/**
 * A source that reads at most {@code recordsPerSecond} records a second over all its subtasks (each
 * subtask its share), Flink's own {@link RateLimitedSourceReader} around the wrapped source's
 * reader. For a lane that must not take the machine from the others while it works off a backlog:
 * the lane falls behind the log instead, and its splits, offsets and checkpoints are the wrapped
 * source's, unchanged (same uid, same state: the limit can be set, changed or removed across a
 * restore).
 */
final class RateLimitedSource<T, S extends SourceSplit, E> extends WrappedSource<T, S, E> {

  private static final long serialVersionUID = 1L;

  private final double recordsPerSecond;

  private RateLimitedSource(Source<T, S, E> source, double recordsPerSecond) {
    super(source);
    this.recordsPerSecond = recordsPerSecond;
  }

  /** {@code source} limited to {@code recordsPerSecond}, or itself when that is null. */
  static <T> Source<T, ?, ?> limit(Source<T, ?, ?> source, Integer recordsPerSecond) {
    if (recordsPerSecond == null) {
      return source;
    }
    if (recordsPerSecond < 1) {
      throw new IllegalArgumentException(
          "a rate limit must be >= 1 record/s, got " + recordsPerSecond);
    }
    return wrap(source, recordsPerSecond);
  }

  private static <T, S extends SourceSplit, E> Source<T, S, E> wrap(
      Source<T, S, E> source, double recordsPerSecond) {
    return new RateLimitedSource<>(source, recordsPerSecond);
  }

  @Override
  public SourceReader<T, S> createReader(SourceReaderContext context) throws Exception {
    RateLimiterStrategy<S> strategy = RateLimiterStrategy.perSecond(recordsPerSecond);
    return new RateLimitedSourceReader<>(
        source.createReader(context), strategy.createRateLimiter(context.currentParallelism()));
  }
}
