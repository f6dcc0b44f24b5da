package dev.tally.bench.jmh;

import dev.tally.jobs.decode.FoldEvent;
import dev.tally.jobs.dedup.DeduplicateByEventId;
import dev.tally.jobs.projection.ByUser;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.state.rocksdb.EmbeddedRocksDBStateBackend;
import org.apache.flink.state.rocksdb.RocksDBOptions;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
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
 * The dedup operator on RocksDB (Flink's operator test harness, the job's own state backend): each
 * call offers a new event id (a RocksDB miss, then a put), every {@code duplicateEvery}th call
 * re-offers an earlier one (a hit, dropped).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 3)
@Measurement(iterations = 3, time = 5)
@Fork(
    value = 1,
    jvmArgsAppend = {"--add-opens=java.base/java.util=ALL-UNNAMED"})
public class DedupBenchmark {

  @Param({"100000"})
  public int users;

  private KeyedOneInputStreamOperatorTestHarness<String, FoldEvent, FoldEvent> harness;
  private final FoldEvent event = new FoldEvent();
  private long sequence;

  @Setup(Level.Trial)
  public void open() throws Exception {
    harness =
        new KeyedOneInputStreamOperatorTestHarness<>(
            new KeyedProcessOperator<>(new DeduplicateByEventId(Duration.ofDays(7))),
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
    event.type = "CHECKIN";
    event.lane = "p0";
    event.topic = "events.p0";
  }

  @Benchmark
  public void offer() throws Exception {
    long n = sequence++;
    // One in 50 is a re-send of an event 1,000 back (the same user: a duplicate keeps its user).
    long id = n % 50 == 49 ? n - 1000 : n;
    event.eventId = "e-" + id;
    event.userId = "user-" + (id * 7919 % users);
    event.occurredAt = id;
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
