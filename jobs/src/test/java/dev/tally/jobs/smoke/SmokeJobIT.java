package dev.tally.jobs.smoke;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tally.testing.FlinkMiniCluster;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.flink.util.CloseableIterator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The smoke job's topology on the shared RocksDB MiniCluster (common's test-jar). */
class SmokeJobIT {

  @RegisterExtension static final MiniClusterExtension FLINK = FlinkMiniCluster.extension();

  private static final long COUNT = 10_000;
  private static final int KEYS = 4;

  @Test
  @Timeout(120)
  void everyKeyCountsItsShareOfTheNumbers() throws Exception {
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
    env.setParallelism(2);

    List<Long> counts = new ArrayList<>();
    try (CloseableIterator<Long> results = SmokeJob.build(env, COUNT, KEYS).executeAndCollect()) {
      results.forEachRemaining(counts::add);
    }

    assertThat(counts).hasSize((int) COUNT);
    // Each key sees COUNT / KEYS numbers, so the counts 1..2500 appear once per key.
    assertThat(counts.stream().filter(c -> c == COUNT / KEYS).count()).isEqualTo(KEYS);
    assertThat(counts).allMatch(c -> c >= 1 && c <= COUNT / KEYS);
  }
}
