package dev.tally.jobs.projection;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tally.common.views.ValkeyEndpoint;
import dev.tally.common.views.ViewClient;
import dev.tally.jobs.views.UserScoreView;
import dev.tally.testing.FlinkMiniCluster;
import dev.tally.testing.KafkaBroker;
import dev.tally.testing.PostgresExtension;
import dev.tally.testing.PostgresServer;
import dev.tally.testing.ValkeyCluster;
import dev.tally.testing.ValkeyClusterExtension;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The job scaled out as production runs it: a Kafka cluster of three brokers (topics replicated 3
 * times, {@code min.insync.replicas=2}) and a three-master Valkey cluster ({@code
 * --valkey-cluster}: writes routed by slot, one script call per slot), at parallelism 2. One broker
 * is lost while the job catches up; the job carries on, and the views in the Valkey cluster and in
 * PostgreSQL, and the dead letters, are what a fold of the log says. (A broker killed with -9 while
 * events stream in: {@code make faults-brokers}, on real processes.)
 */
@ExtendWith({ValkeyClusterExtension.class, PostgresExtension.class})
class ProjectionScaleOutIT {

  @RegisterExtension static final MiniClusterExtension FLINK = FlinkMiniCluster.extension();

  @Test
  @Timeout(420)
  void threeBrokersAndAValkeyClusterStayExactWhenABrokerIsLost(
      ValkeyCluster valkeyCluster, PostgresServer postgres) throws Exception {
    try (KafkaBroker kafka = KafkaBroker.startCluster(3)) {
      ValkeyEndpoint valkey =
          new ValkeyEndpoint(
              valkeyCluster.nodes().stream().map(n -> n.getHost() + ":" + n.getPort()).toList(),
              true,
              null);
      ProjectionTestSetup setup =
          new ProjectionTestSetup(
              "scale-out",
              kafka,
              (short) 3,
              valkey,
              postgres,
              Duration.ofSeconds(2),
              Duration.ofSeconds(2));
      ProducedLog log =
          new ProducedLog()
              .send(kafka.bootstrapServers(), setup.warmUp())
              .send(kafka.bootstrapServers(), setup.load(80_000, 0.05, 0.05, 0.01, 0.01));
      ExpectedViews expected = ExpectedViews.fold(log.records());

      JobClient job =
          ProjectionTestSetup.job(setup.config, OffsetsInitializer.latest())
              .executeAsync("scale-out");
      // Once the views are being written, a broker (not the controller) goes away for good.
      long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
      while (ServedViews.valkey(valkey, setup.generation, UserScoreView.NAME).isEmpty()) {
        assertThat(System.nanoTime()).as("the job writes within 2 minutes").isLessThan(deadline);
        Thread.sleep(200);
      }
      int lost = kafka.runningBrokers().stream().max(Integer::compare).orElseThrow();
      kafka.stopBroker(lost);
      assertThat(kafka.runningBrokers()).hasSize(2).doesNotContain(lost);
      assertThat(job.getJobStatus().get(10, java.util.concurrent.TimeUnit.SECONDS))
          .as("the broker went away while the job was still reading")
          .isEqualTo(org.apache.flink.api.common.JobStatus.RUNNING);
      // Its partitions are led by the others now, and it is out of every in-sync set.
      List<String> topics =
          java.util.Arrays.stream(dev.tally.common.events.Lane.values())
              .map(lane -> lane.topic(setup.prefix))
              .toList();
      for (var description :
          kafka
              .admin()
              .describeTopics(topics)
              .allTopicNames()
              .get(30, java.util.concurrent.TimeUnit.SECONDS)
              .values()) {
        for (var partition : description.partitions()) {
          assertThat(partition.leader().id()).as(partition.toString()).isNotEqualTo(lost);
          assertThat(partition.replicas()).hasSize(3);
        }
      }
      FlinkMiniCluster.awaitCompletion(job, Duration.ofMinutes(5));

      ServedViews.assertAllEqual(setup, expected);
      assertThat(ServedViews.deadLetters(kafka, setup.deadLetterTopic()).keySet())
          .isEqualTo(expected.deadLetters);

      // A bounded job can end before its cache warden has marked a new generation's tags complete
      // (it waits three checkpoints): readers then read PostgreSQL. What an operator runs then,
      // tally cache warm, on the cluster: every tag refilled and marked.
      try (dev.tally.common.views.ValkeyViewStore store =
              new dev.tally.common.views.ValkeyViewStore(valkey, setup.generation, 500);
          java.sql.Connection connection = setup.schema.connect()) {
        java.util.Set<Integer> incomplete =
            dev.tally.common.views.CacheWarmer.incompleteTags(store.client(), setup.generation);
        dev.tally.common.views.CacheWarmer.Result warmed =
            dev.tally.common.views.CacheWarmer.warm(store, connection, incomplete, rows -> {});
        assertThat(warmed.marked()).isEqualTo(incomplete);
        assertThat(
                dev.tally.common.views.CacheWarmer.incompleteTags(store.client(), setup.generation))
            .isEmpty();
      }
      ServedViews.assertAllEqual(setup, expected);

      // The read side on the cluster: the hottest users' entries, from Valkey.
      Map<String, Map<String, Long>> scores = expected.byView().get(UserScoreView.NAME);
      List<String> users =
          scores.keySet().stream()
              .sorted(
                  (a, b) -> Long.compare(scores.get(b).get("events"), scores.get(a).get("events")))
              .limit(20)
              .toList();
      try (ViewClient reader =
          new ViewClient(
              valkey, setup.schema.jdbcUrl(), setup.schema.user(), setup.schema.password())) {
        for (String user : users) {
          ViewClient.Entry entry = reader.entry(setup.generation, UserScoreView.NAME, user);
          assertThat(entry.source()).as(user).isEqualTo(ViewClient.Source.VALKEY);
          assertThat(entry.fields()).as(user).isEqualTo(scores.get(user));
        }
      }
    }
  }
}
