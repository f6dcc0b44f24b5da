package dev.tally.jobs.projection;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tally.common.events.Lane;
import dev.tally.common.views.ValkeyEndpoint;
import dev.tally.jobs.decode.SourceRecord;
import dev.tally.jobs.views.PointsRules;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.apache.flink.api.connector.source.Source;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.graph.StreamNode;
import org.junit.jupiter.api.Test;

/**
 * Savepoints map state to operators by uid: the topology's uids are pinned here, and each one is
 * listed in docs/projection-job.md, so a change to either is a deliberate one.
 */
class ProjectionTopologyTest {

  private static final Path DOC = Path.of("..", "docs", "projection-job.md");

  private static ProjectionConfig config(String sourceId) {
    return ProjectionOptions.parse(
            new String[] {
              "--bootstrap-servers", "127.0.0.1:1",
              "--valkey", "redis://127.0.0.1:2",
              "--jdbc-url", "jdbc:postgresql://127.0.0.1:3/tally",
              "--source-id", sourceId
            },
            new java.io.PrintWriter(java.io.Writer.nullWriter()))
        .orElseThrow();
  }

  private static Set<String> uids(ProjectionConfig config) {
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
    // Built, never started: no broker needed.
    Map<Lane, Source<SourceRecord, ?, ?>> sources =
        ProjectionTestSetup.sources(config, OffsetsInitializer.latest());
    ProjectionJob.build(env, sources, ProjectionJob.productionSinks(config), config);
    return env.getStreamGraph().getStreamNodes().stream()
        .map(StreamNode::getTransformationUID)
        .filter(Objects::nonNull)
        .collect(Collectors.toCollection(TreeSet::new));
  }

  @Test
  void everyOperatorOfEveryLaneHasItsPinnedUid() {
    Set<String> expected = new TreeSet<>();
    for (String lane : List.of("p0", "p1", "p2")) {
      for (String base :
          List.of(
              "lane-source",
              "admit",
              "project",
              "count",
              "valkey-project",
              "postgres-project",
              "valkey-count",
              "postgres-count",
              "dead-letters")) {
        expected.add(base + "-" + lane);
      }
      // Flink derives the Kafka sink's committer uid from the sink's.
      expected.add("Sink Committer: dead-letters-" + lane);
    }
    assertThat(uids(config(""))).isEqualTo(expected);
  }

  @Test
  void aSourceIdRenamesTheSourceAndItsPartitionClocksOnly() {
    Set<String> renamed = uids(config("repair1"));
    assertThat(renamed).contains("lane-source-p0-repair1", "admit-p0-repair1", "project-p0");
    assertThat(renamed).doesNotContain("lane-source-p0", "admit-p0");
  }

  @Test
  void everyUidIsListedInTheJobsDocumentation() throws Exception {
    String doc = Files.readString(DOC);
    for (String uid : uids(config(""))) {
      String plain = uid.replace("Sink Committer: ", "");
      String base = plain.substring(0, plain.lastIndexOf('-'));
      assertThat(doc).as("docs/projection-job.md names " + base).contains("`" + base + "-<lane>`");
    }
  }

  @Test
  void configuredTimesReachTheOperators() {
    ProjectionConfig config = config("");
    assertThat(config.timing().bundleDelay()).isEqualTo(Duration.ofMillis(5));
    assertThat(config.rules().toString()).isEqualTo(PointsRules.defaults().toString());
    assertThat(config.stores().valkey())
        .isEqualTo(ValkeyEndpoint.parse("redis://127.0.0.1:2", false, null));
  }
}
