package dev.tally.bench.jmh;

import dev.tally.common.views.ViewUpdate;
import dev.tally.events.EventType;
import dev.tally.jobs.decode.FoldEvent;
import dev.tally.jobs.projection.ByUser;
import dev.tally.jobs.projection.ProjectLane;
import dev.tally.jobs.views.PointsRules;
import dev.tally.jobs.views.ViewContext;
import dev.tally.jobs.views.Views;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.state.rocksdb.EmbeddedRocksDBStateBackend;
import org.apache.flink.state.rocksdb.RocksDBOptions;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The lane's projection operator on RocksDB (Flink's operator test harness, the job's own state
 * backend): each call offers one event, mostly a new event id, every 50th a re-send of an earlier
 * one (dropped); users spread uniformly, so bundles collapse little (a worst case for the state).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 3)
@Measurement(iterations = 3, time = 5)
@Fork(
    value = 1,
    jvmArgsAppend = {"--add-opens=java.base/java.util=ALL-UNNAMED"})
public class ProjectBenchmark {

  @Param({"100000"})
  public int users;

  private KeyedOneInputStreamOperatorTestHarness<String, FoldEvent, ViewUpdate> harness;
  private final FoldEvent event = new FoldEvent();
  private long sequence;

  @Setup(Level.Trial)
  public void open() throws Exception {
    harness =
        new KeyedOneInputStreamOperatorTestHarness<>(
            new ProjectLane(
                Views.all(),
                new ViewContext(PointsRules.defaults(), Duration.ofSeconds(60), "bench", "p0"),
                4096,
                Duration.ofMillis(5),
                Duration.ofDays(7),
                Duration.ofDays(1)),
            new ByUser(),
            Types.STRING);
    Configuration rocksdb = new Configuration();
    // The harness has almost no managed memory (RocksDB would flush its memtable constantly and
    // Flink warns "performance will be poor"); a TaskManager slot has hundreds of MB. Let RocksDB
    // size itself, as it does with a real slot's budget.
    rocksdb.set(RocksDBOptions.USE_MANAGED_MEMORY, false);
    harness.setStateBackend(
        new EmbeddedRocksDBStateBackend().configure(rocksdb, getClass().getClassLoader()));
    harness.open();
    event.type = EventType.CHECKIN;
    event.huntId = "hunt-1";
  }

  @Benchmark
  public void offer() throws Exception {
    long n = sequence++;
    // One in 50 is a re-send of an event 1,000 back (the same user: a duplicate keeps its user).
    long id = n % 50 == 49 ? n - 1000 : n;
    event.eventId = "e-" + id;
    event.userId = "user-" + (id * 7919 % users);
    event.occurredAt = id;
    event.appendTime = id;
    harness.processElement(event, id);
    if (harness.getOutput().size() > 10_000) {
      harness.getOutput().clear();
    }
  }

  @TearDown(Level.Trial)
  public void close() throws Exception {
    harness.close();
  }
}
