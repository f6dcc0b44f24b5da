package dev.tally.jobs.sinks;

import dev.tally.common.views.PostgresViewStore;
import dev.tally.common.views.ViewUpdate;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.connector.jdbc.JdbcConnectionOptions;
import org.apache.flink.connector.jdbc.JdbcExecutionOptions;
import org.apache.flink.connector.jdbc.core.datastream.sink.JdbcSink;

/**
 * The PostgreSQL sink: flink-connector-jdbc running the version-guarded upsert in batches, flushed
 * on every checkpoint (at-least-once; the version guard makes repeats harmless).
 */
public final class PostgresSinks {

  private PostgresSinks() {}

  /**
   * @param maxRetries attempts per batch before the job fails and restarts from its checkpoint; the
   *     connector waits 1 s, 2 s, … between attempts
   */
  public static Sink<ViewUpdate> upserts(
      String jdbcUrl, String user, String password, int generation, int batchSize, int maxRetries) {
    return new QuietCloseSink<>(
        JdbcSink.<ViewUpdate>builder()
            .withQueryStatement(
                PostgresViewStore.UPSERT,
                (statement, update) -> PostgresViewStore.bind(statement, update, generation))
            .withExecutionOptions(
                JdbcExecutionOptions.builder()
                    .withBatchSize(batchSize)
                    .withBatchIntervalMs(200)
                    .withMaxRetries(maxRetries)
                    .build())
            .buildAtLeastOnce(
                new JdbcConnectionOptions.JdbcConnectionOptionsBuilder()
                    .withUrl(jdbcUrl)
                    .withDriverName("org.postgresql.Driver")
                    .withUsername(user)
                    .withPassword(password)
                    .withConnectionCheckTimeoutSeconds(5)
                    .build()));
  }
}
