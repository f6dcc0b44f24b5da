package dev.tally.jobs.projection;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tally.common.generator.RecordKind;
import dev.tally.common.verify.LogFold;
import dev.tally.testing.FlinkMiniCluster;
import dev.tally.testing.KafkaBroker;
import dev.tally.testing.KafkaExtension;
import dev.tally.testing.PostgresExtension;
import dev.tally.testing.PostgresServer;
import dev.tally.testing.ValkeyExtension;
import dev.tally.testing.ValkeyServer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.metrics.Histogram;
import org.apache.flink.runtime.testutils.InMemoryReporter;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Promises 1, 2 and 4 end to end on the real broker, Valkey and PostgreSQL: the log, with
 * duplicates, disorder, late and malformed records, folds into views equal to a plain fold of the
 * same records, and the dead-letter topic holds exactly the malformed and too-late ones.
 */
@ExtendWith({KafkaExtension.class, ValkeyExtension.class, PostgresExtension.class})
class ProjectionEndToEndIT {

  private static final InMemoryReporter METRICS = InMemoryReporter.createWithRetainedMetrics();

  @RegisterExtension
  static final MiniClusterExtension FLINK = FlinkMiniCluster.extension(METRICS::addToConfiguration);

  private static final long RECORDS = 200_000;

  @Test
  @Timeout(600)
  void viewsEqualAPlainFoldOfTheLogAndBadRecordsAreDeadLettered(
      KafkaBroker kafka, ValkeyServer valkey, PostgresServer postgres) throws Exception {
    ProjectionTestSetup setup =
        new ProjectionTestSetup("e2e", kafka, valkey, postgres, Duration.ofSeconds(2));
    ProducedLog log =
        new ProducedLog()
            .send(kafka.bootstrapServers(), setup.warmUp())
            .send(kafka.bootstrapServers(), setup.load(RECORDS, 0.05, 0.05, 0.01, 0.01));
    ExpectedViews expected = ExpectedViews.fold(log.records());
    assertThat(
            log.records().stream().filter(s -> s.record().kind() == RecordKind.DUPLICATE).count())
        .isGreaterThan(9_000);

    StreamExecutionEnvironment env =
        ProjectionTestSetup.job(setup.config, OffsetsInitializer.latest());
    JobClient job = env.executeAsync("e2e");
    FlinkMiniCluster.awaitCompletion(job, Duration.ofMinutes(8));

    ServedViews.assertAllEqual(setup, expected);

    // The writers' end-to-end latency, per view as well as per writer: every view's histogram
    // counted updates, in both stores' writers.
    Map<String, Long> updatesTimedByView = new java.util.TreeMap<>();
    METRICS
        .findMetrics(job.getJobID(), "endToEndLatencyMs")
        .forEach(
            (identifier, metric) -> {
              for (String view : expected.byView().keySet()) {
                for (String store : List.of("valkey", "postgres")) {
                  if (identifier.contains(".view." + view + ".")
                      && identifier.contains(store + " ")) {
                    updatesTimedByView.merge(
                        store + "/" + view, ((Histogram) metric).getCount(), Long::sum);
                  }
                }
              }
            });
    assertThat(updatesTimedByView)
        .hasSize(6)
        .allSatisfy((view, count) -> assertThat(count).isPositive());

    Map<String, String> deadLetters = ServedViews.deadLetters(kafka, setup.deadLetterTopic());
    assertThat(deadLetters.keySet()).isEqualTo(expected.deadLetters);
    Map<String, Long> byReason =
        deadLetters.values().stream().collect(Collectors.groupingBy(r -> r, Collectors.counting()));
    assertThat(byReason.get("late"))
        .isEqualTo(
            log.records().stream().filter(s -> s.record().kind() == RecordKind.LATE).count());
    assertThat(byReason.keySet()).containsOnly("late", "bad-header", "unknown-schema", "corrupt");

    // The independent fold behind `tally verify`, reading the same log back from the broker with
    // the job's settings, says the same: every view and every dead letter, with its reason.
    LogFold.Result fold = setup.foldTheLog();
    assertThat(fold.views()).isEqualTo(expected.byView());
    assertThat(fold.deadLetters()).isEqualTo(deadLetters);
    assertThat(fold.records()).isEqualTo(log.records().size());
  }
}
