package dev.tally.jobs.projection;

import dev.tally.common.views.ViewUpdate;
import dev.tally.jobs.decode.DeadLetter;
import org.apache.flink.api.connector.sink2.Sink;

/**
 * Where the projection writes.
 *
 * @param postgres null to run without PostgreSQL
 */
public record ProjectionSinks(
    Sink<ViewUpdate> valkey, Sink<ViewUpdate> postgres, Sink<DeadLetter> deadLetters) {}
