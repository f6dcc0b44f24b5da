package dev.tally.jobs.sinks;

import dev.tally.common.views.PostgresViewStore;
import dev.tally.common.views.ViewUpdate;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.SQLRecoverableException;
import java.sql.SQLTransientException;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.StatefulSinkWriter;
import org.apache.flink.api.connector.sink2.SupportsWriterState;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.apache.flink.connector.jdbc.JdbcConnectionOptions;
import org.apache.flink.connector.jdbc.datasource.connections.SimpleJdbcConnectionProvider;
import org.apache.flink.core.io.SimpleVersionedSerializer;

/**
 * Writes view updates to PostgreSQL in batches off the task thread ({@link BatchedWriter}): each
 * batch is one version-guarded upsert statement over arrays ({@link
 * PostgresViewStore#UPSERT_BATCH}) in its own transaction, on a connection kept by
 * flink-connector-jdbc's connection provider. Updates coalesce per entry and writer for {@code
 * interval} (or until {@code maxBatch} entries wait), so PostgreSQL sees each changed entry at most
 * about once per interval.
 *
 * <p>A checkpoint barrier does not wait for PostgreSQL ({@link
 * BatchedWriter.AtBarrier#CARRY_OVER}): it waits only until what the previous barrier left is
 * committed, and the checkpoint keeps what is still unwritten as writer state, written again after
 * a restore. So a commit never holds up the task's events (the Valkey path's latency), and by the
 * time a checkpoint completes PostgreSQL holds everything the job was given before the previous
 * one.
 *
 * <p>Connection failures and PostgreSQL shutting down or not yet accepting connections are retried,
 * 1 s, 2 s, … apart, {@code retries} times; then, or at once for any other error, the task fails
 * and restarts from its checkpoint.
 */
public final class PostgresSink
    implements Sink<ViewUpdate>, SupportsWriterState<ViewUpdate, ViewUpdate> {

  /** While catching up: batches up to this many entries … (see {@link BatchedWriter}). */
  static final int CATCH_UP_BATCH = 50_000;

  /** … or this long. */
  static final Duration CATCH_UP_DELAY = Duration.ofSeconds(10);

  private static final long serialVersionUID = 1L;

  /** SQLSTATEs that pass by themselves: shutdown in progress, cannot connect now, too many. */
  static final Set<String> TRANSIENT_STATES = Set.of("57P01", "57P02", "57P03", "53300");

  private final JdbcConnectionOptions connection;
  private final int generation;
  private final int maxBatch;
  private final Duration interval;
  private final int retries;

  public PostgresSink(
      String jdbcUrl,
      String user,
      String password,
      int generation,
      int maxBatch,
      Duration interval,
      int retries) {
    this.connection =
        new JdbcConnectionOptions.JdbcConnectionOptionsBuilder()
            .withUrl(jdbcUrl)
            .withDriverName("org.postgresql.Driver")
            .withUsername(user)
            .withPassword(password)
            .withConnectionCheckTimeoutSeconds(5)
            .build();
    this.generation = generation;
    this.maxBatch = maxBatch;
    this.interval = interval;
    this.retries = retries;
  }

  @Override
  public StatefulSinkWriter<ViewUpdate, ViewUpdate> createWriter(WriterInitContext context) {
    return restoreWriter(context, List.of());
  }

  @Override
  public StatefulSinkWriter<ViewUpdate, ViewUpdate> restoreWriter(
      WriterInitContext context, Collection<ViewUpdate> unwritten) {
    return new BatchedWriter(
        new Target(connection, generation),
        maxBatch,
        interval,
        CATCH_UP_BATCH,
        CATCH_UP_DELAY,
        retries,
        Duration.ofSeconds(1),
        Duration.ofSeconds(30),
        context.getProcessingTimeService(),
        context.getMailboxExecutor(),
        context.metricGroup(),
        "postgres-writer " + context.getTaskInfo().getTaskNameWithSubtasks(),
        BatchedWriter.AtBarrier.CARRY_OVER,
        unwritten);
  }

  @Override
  public SimpleVersionedSerializer<ViewUpdate> getWriterStateSerializer() {
    return ViewUpdateStateSerializer.INSTANCE;
  }

  /** The statements, on the writer's I/O thread. */
  static final class Target implements BatchedWriter.Target {
    private final SimpleJdbcConnectionProvider connections;
    private final String url;
    private final int generation;
    private PreparedStatement upsert;

    Target(JdbcConnectionOptions options, int generation) {
      this.connections = new SimpleJdbcConnectionProvider(options);
      this.url = options.getDbURL();
      this.generation = generation;
    }

    @Override
    public BatchedWriter.Written write(List<ViewUpdate> batch) throws Exception {
      if (upsert == null) {
        Connection connection = connections.getOrEstablishConnection();
        connection.setAutoCommit(true);
        upsert = connection.prepareStatement(PostgresViewStore.UPSERT_BATCH);
      }
      try {
        PostgresViewStore.bindBatch(upsert, batch, generation);
        int written = upsert.executeUpdate();
        return new BatchedWriter.Written(written, 1);
      } catch (AssertionError broken) {
        // What the driver raises on a connection that died mid-statement
        // ("getAutoCommit() should not throw"): a lost connection, so retried like one.
        throw new SQLRecoverableException("the connection broke: " + broken.getMessage(), broken);
      }
    }

    @Override
    public boolean isTransient(Exception failure) {
      if (failure instanceof SQLTransientException || failure instanceof SQLRecoverableException) {
        return true;
      }
      if (failure instanceof SQLException sql && sql.getSQLState() != null) {
        // Class 08: connection exceptions (refused, lost, broken).
        return sql.getSQLState().startsWith("08") || TRANSIENT_STATES.contains(sql.getSQLState());
      }
      return false;
    }

    @Override
    public void reset() {
      upsert = null;
      connections.closeConnection();
    }

    @Override
    public String describe() {
      return "PostgreSQL " + url;
    }

    @Override
    public void close() {
      reset();
    }
  }
}
