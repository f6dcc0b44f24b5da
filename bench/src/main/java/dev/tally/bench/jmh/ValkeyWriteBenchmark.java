package dev.tally.bench.jmh;

import dev.tally.common.views.Partial;
import dev.tally.common.views.ValkeyEndpoint;
import dev.tally.common.views.ValkeyViewStore;
import dev.tally.common.views.ViewCatalog;
import dev.tally.common.views.ViewUpdate;
import dev.tally.testing.ValkeyServer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The Valkey write path as the sink runs it: {@link ValkeyViewStore#apply} of a batch of view
 * updates (coalescing, key building, argument encoding, one {@code EVALSHA} of {@code
 * apply_updates.lua}) against a real {@code valkey-server} this benchmark starts. Scored per
 * update.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 3)
@Measurement(iterations = 3, time = 5)
@Fork(1)
@OperationsPerInvocation(ValkeyWriteBenchmark.BATCH)
public class ValkeyWriteBenchmark {

  static final int BATCH = 1000;

  /** user_score entries (hash only) or leaderboard entries (hash + sorted set + cache key). */
  @Param({"user_score", "leaderboard"})
  public String view;

  private ValkeyServer server;
  private ValkeyViewStore store;
  private long version;

  @Setup(Level.Trial)
  public void start() {
    server = ValkeyServer.start();
    store = new ValkeyViewStore(ValkeyEndpoint.parse(server.uri(), false, null), 1, BATCH);
  }

  @Benchmark
  public long applyBatch() {
    version++;
    List<ViewUpdate> batch = new ArrayList<>(BATCH);
    boolean ranked = ViewCatalog.byId(view).ranked();
    for (int i = 0; i < BATCH; i++) {
      String user = "user-" + i;
      ViewUpdate update =
          new ViewUpdate(
              view,
              ranked ? ViewCatalog.leaderboardKey("hunt-" + (i % 20), user) : user,
              "bench/p0",
              version,
              Partial.builder()
                  .sum("points", version * 10)
                  .sum("events", version)
                  .max("last_activity_ms", version)
                  .build(),
              0);
      if (ranked) {
        update.rankedIn("hunt-" + (i % 20), user, "points");
      }
      batch.add(update);
    }
    return store.apply(batch).applied();
  }

  @TearDown(Level.Trial)
  public void stop() {
    store.close();
    server.close();
  }
}
