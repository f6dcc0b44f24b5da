package dev.tally.jobs.projection;

import dev.tally.common.views.ViewUpdate;
import dev.tally.jobs.decode.DeadLetter;
import org.apache.flink.api.connector.sink2.Sink;

/**
 * Where the projection writes.
 *
 * @param postgres null to run without PostgreSQL
 * @param valkeyWarden the Valkey sink of the first lane's projection updates: the same as {@code
 *     valkey}, and its subtask 0 also keeps Valkey a complete cache of PostgreSQL ({@link
 *     dev.tally.jobs.sinks.ValkeySink#keepingCompleteFrom})
 */
public record ProjectionSinks(
    Sink<ViewUpdate> valkey,
    Sink<ViewUpdate> postgres,
    Sink<DeadLetter> deadLetters,
    Sink<ViewUpdate> valkeyWarden) {

  /** Sinks without a cache warden (Valkey-only runs, benchmarks, tests). */
  public ProjectionSinks(
      Sink<ViewUpdate> valkey, Sink<ViewUpdate> postgres, Sink<DeadLetter> deadLetters) {
    this(valkey, postgres, deadLetters, valkey);
  }
}
