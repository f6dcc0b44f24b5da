package dev.tally.jobs.projection;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tally.testing.FlinkMiniCluster;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.connector.source.lib.NumberSequenceSource;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.flink.util.CloseableIterator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A lane's {@code --max-records-per-second}: the limited source delivers every record, and not
 * faster than the limit over all its subtasks. Only the lower bound is checked (a busy machine
 * makes a run slower, never faster), so the test cannot fail by the machine being slow.
 */
class RateLimitedSourceIT {

  @RegisterExtension static final MiniClusterExtension FLINK = FlinkMiniCluster.extension();

  @Test
  @Timeout(120)
  void everyRecordArrivesAndNoFasterThanTheLimit() throws Exception {
    int records = 3_000;
    int limit = 1_000;
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
    env.setParallelism(2);
    List<Long> read = new ArrayList<>();
    long first = 0;
    try (CloseableIterator<Long> out =
        env.fromSource(
                RateLimitedSource.limit(new NumberSequenceSource(1, records), limit),
                WatermarkStrategy.noWatermarks(),
                "limited")
            .executeAndCollect("rate-limited")) {
      while (out.hasNext()) {
        read.add(out.next());
        if (first == 0) {
          first = System.nanoTime();
        }
      }
    }
    double seconds = (System.nanoTime() - first) / 1e9;

    assertThat(read).hasSize(records).doesNotHaveDuplicates();
    // From the first record to the last (job start-up excluded): 3,000 records at 1,000/s, of
    // which a limiter lets up to a second's worth through at once, take about two seconds more;
    // unlimited, they come within milliseconds.
    assertThat(seconds).as("seconds to read %d records at %d/s", records, limit).isGreaterThan(1.5);
  }

  @Test
  void noLimitLeavesTheSourceAsItIs() {
    NumberSequenceSource source = new NumberSequenceSource(1, 10);
    assertThat(RateLimitedSource.limit(source, null)).isSameAs(source);
    assertThatThrownBy(() -> RateLimitedSource.limit(source, 0))
        .hasMessageContaining("a rate limit must be >= 1 record/s");
  }
}
