package dev.tally.jobs.projection;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tally.cli.TallyCli;
import dev.tally.common.events.Lane;
import dev.tally.common.flink.FlinkRestClient;
import dev.tally.common.flink.JobState;
import dev.tally.common.flink.PublishedOptions;
import dev.tally.common.replay.Generations;
import dev.tally.common.replay.Position;
import dev.tally.common.replay.PositionResolver;
import dev.tally.common.views.ValkeyEndpoint;
import dev.tally.common.views.ViewClient;
import dev.tally.common.views.ViewKeys;
import dev.tally.jobs.views.LeaderboardView;
import dev.tally.jobs.views.UserScoreView;
import dev.tally.testing.FlinkMiniCluster;
import dev.tally.testing.KafkaBroker;
import dev.tally.testing.KafkaExtension;
import dev.tally.testing.PostgresExtension;
import dev.tally.testing.PostgresServer;
import dev.tally.testing.ValkeyServer;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.CoreOptions;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.runtime.minicluster.MiniClusterConfiguration;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Promise 5, end to end: {@code tally replay} drives a Flink MiniCluster through its REST API only
 * (jar upload and run, stop with savepoint, job status, source metrics) against a real broker,
 * valkey-server and PostgreSQL.
 *
 * <p>The MiniCluster loads user code parent-first: this JVM's classpath already holds the job's
 * classes and its connectors, and loading the same connector twice (once per class loader) breaks
 * Kafka's types. The uploaded jar is still what each run names.
 */
@ExtendWith({KafkaExtension.class, PostgresExtension.class})
class ReplayIT {

  private static final Path JAR = Path.of("target/tally-jobs.jar");

  private static MiniCluster cluster;
  private static String rest;

  @BeforeAll
  static void startCluster() throws Exception {
    assertThat(JAR).as("the job jar (built in the package phase)").exists();
    Configuration config = FlinkMiniCluster.configuration();
    config.set(RestOptions.BIND_PORT, "0");
    config.set(CoreOptions.CLASSLOADER_RESOLVE_ORDER, "parent-first");
    cluster =
        new MiniCluster(
            new MiniClusterConfiguration.Builder()
                .setConfiguration(config)
                .setNumTaskManagers(1)
                .setNumSlotsPerTaskManager(4)
                .build());
    cluster.start();
    rest = cluster.getRestAddress().get().toString();
  }

  @AfterAll
  static void stopCluster() throws Exception {
    if (cluster != null) {
      cluster.close();
    }
  }

  @Test
  @Timeout(600)
  void rebuildMatchesTheLiveGenerationAndCutoverAndRollbackKeepEveryReadWhole(
      KafkaBroker kafka, PostgresServer postgres) throws Exception {
    try (World world = new World("rebuild", kafka, postgres)) {
      ProducedLog log =
          new ProducedLog()
              .send(kafka.bootstrapServers(), world.setup.warmUp())
              .send(kafka.bootstrapServers(), world.setup.load(10_000, 0.05, 0.05, 0, 0.01));
      ExpectedViews expected = ExpectedViews.fold(log.records());
      String live = world.submit(world.args(1).with("--start", "earliest"));
      world.awaitViews(1, expected);

      Reader reader = new Reader(world, expected);
      Thread readerThread = new Thread(reader, "replay-reader");
      readerThread.start();
      try {
        String planned = world.cli("replay", "plan", "--from", "earliest");
        assertThat(planned)
            .contains("total: " + String.format("%,d", log.records().size()) + " events");

        String rebuilt = world.cli("replay", "rebuild", "--from", "earliest", "--ready-lag", "0");
        assertThat(rebuilt).contains("rebuild job").contains("generation 2 has caught up");
        String compared = world.cli("replay", "compare", "--verify-timeout", "20s");
        assertThat(compared).contains("generations 1 and 2 match");

        // A wrong value in generation 2: the comparison refuses the cutover, and the live job,
        // which
        // was stopped for it, runs again from its savepoint; readers stay on generation 1.
        String user = expected.userScore.keySet().iterator().next();
        String tamperedKey = ViewKeys.entry(2, UserScoreView.NAME, user);
        Map<String, String> original;
        try (Generations generations = world.generations()) {
          original = generations.valkeyClient().hgetAll(tamperedKey);
          generations.valkeyClient().hset(tamperedKey, "points", "1");
        }
        // compare finds it with nothing stopped …
        world.cliFails("replay", "compare", "--generation", "2", "--verify-timeout", "1s");
        assertThat(world.lastError).contains("generation 2 differs from 1");
        assertThat(world.flink.state(live)).as("compare stops nothing").isEqualTo(JobState.RUNNING);
        // … and a cutover refuses to switch to it before stopping anything: the live views never
        // freeze for a refused switch.
        world.cliFails("replay", "cutover", "--grace", "1h");
        assertThat(world.lastError)
            .contains("cutover refused before stopping anything")
            .contains("generation 2 differs from 1");
        assertThat(world.flink.state(live))
            .as("not stopped for the refused cutover")
            .isEqualTo(JobState.RUNNING);
        try (Generations generations = world.generations()) {
          assertThat(generations.servedInValkey()).isEqualTo(1);
          assertThat(generations.servedInPostgres()).isEqualTo(1);
          generations.valkeyClient().hset(tamperedKey, original);
        }
        assertThat(world.runningGenerations())
            .as("g1 and g2 running")
            .containsExactlyInAnyOrder(1, 2);

        String cutover = world.cli("replay", "cutover", "--grace", "1h");
        assertThat(cutover)
            .contains("readers now served generation 2")
            .doesNotContain("missing in g2")
            // After the stop only what changed since the comparison with both jobs running is
            // compared again (heard on the invalidation channel), not every key.
            .containsPattern(
                "generation 1 was frozen for [0-9.]+ s, from its job's stop to the"
                    + " switch \\([0-9,]+ changed entries compared again\\)");
        try (Generations generations = world.generations()) {
          assertThat(generations.servedInValkey()).isEqualTo(2);
          assertThat(generations.servedInPostgres()).isEqualTo(2);
          // Both generations hold every key with every value: the rebuild is identical.
          for (String view : expected.byView().keySet()) {
            assertThat(ServedViews.valkey(world.setup.valkey, 2, view))
                .as(view + " in generation 2")
                .isEqualTo(ServedViews.valkey(world.setup.valkey, 1, view))
                .isEqualTo(expected.byView().get(view));
          }
          String anyOldKey = generations.keys(1).iterator().next();
          assertThat(generations.valkeyClient().pttl(anyOldKey))
              .as("the old generation expires after the grace period")
              .isBetween(1L, Duration.ofHours(1).toMillis());
        }
        assertThat(world.flink.state(live)).isEqualTo(JobState.FINISHED);

        String rollback = world.cli("replay", "rollback", "--grace", "1h");
        assertThat(rollback).contains("readers now served generation 1");
        try (Generations generations = world.generations()) {
          assertThat(generations.servedInValkey()).isEqualTo(1);
          assertThat(generations.servedInPostgres()).isEqualTo(1);
          String anyKey = generations.keys(1).iterator().next();
          assertThat(generations.valkeyClient().pttl(anyKey))
              .as("restored: no expiry")
              .isEqualTo(-1L);
        }
        // Generation 2, retired by the rollback, is what a rollback would go back to: discarding
        // it is refused, and once forced the record of that cutover goes with it.
        world.cliFails("replay", "discard", "--generation", "2");
        assertThat(world.lastError).contains("tally replay rollback needs it until");
        assertThat(world.cli("replay", "discard", "--generation", "2", "--force"))
            .contains("the last cutover's record is deleted: no rollback to generation 2");
        world.cliFails("replay", "rollback");
        assertThat(world.lastError).contains("no cutover recorded");
      } finally {
        reader.stop.set(true);
        readerThread.join();
      }
      assertThat(reader.failures).as("what the reader saw go wrong").isEmpty();
      assertThat(reader.generationsSeen).containsExactlyInAnyOrder(1, 2);
      assertThat(reader.reads.get()).isGreaterThan(100);
      assertThat(world.flink.jars())
          .as("the jars rebuild, cutover and rollback uploaded, deleted once their jobs ran")
          .isEmpty();
    }
  }

  @Test
  @Timeout(300)
  void aSubmissionNamesItsJobSoARetryStartsNothingAndLeavesNoJar(
      KafkaBroker kafka, PostgresServer postgres) throws Exception {
    try (World world = new World("submit", kafka, postgres)) {
      FlinkRestClient flink = world.flink;
      int jobsBefore = flink.jobs().size();
      FlinkRestClient.Submission submission =
          FlinkRestClient.Submission.of(
              ProjectionJob.class.getName(), world.args(1).with("--start", "earliest").list());
      String jobId = FlinkRestClient.newJobId();
      String jar = flink.uploadJar(JAR);
      try {
        assertThat(flink.run(jar, submission, jobId)).isEqualTo(jobId);
        // The first reply lost on the way (a timeout): the caller sends the same run again.
        assertThat(flink.run(jar, submission, jobId)).as("the retried run").isEqualTo(jobId);
      } finally {
        flink.deleteJar(jar);
      }
      assertThat(flink.jobs()).as("one job started by the two runs").hasSize(jobsBefore + 1);
      world.awaitRunning(jobId);

      // The CLI the same way: a submission retried with its --job-id starts nothing.
      StringWriter out = new StringWriter();
      StringWriter err = new StringWriter();
      var cli = TallyCli.commandLine();
      cli.setOut(new PrintWriter(out, true));
      cli.setErr(new PrintWriter(err, true));
      List<String> args =
          new ArrayList<>(
              List.of(
                  "flink",
                  "submit",
                  "--rest",
                  rest,
                  "--jar",
                  JAR.toString(),
                  "--class",
                  ProjectionJob.class.getName(),
                  "--job-id",
                  jobId,
                  "--"));
      args.addAll(submission.args());
      assertThat(cli.execute(args.toArray(String[]::new))).as("stderr: %s", err).isZero();
      assertThat(out.toString().trim()).isEqualTo(jobId);
      assertThat(err.toString()).contains("already submitted", "RUNNING");
      assertThat(flink.jobs()).as("nothing started by the retry").hasSize(jobsBefore + 1);
      assertThat(flink.jars()).as("no jar left on the cluster").isEmpty();
      assertThat(flink.state(jobId)).isEqualTo(JobState.RUNNING);
    }
  }

  @Test
  @Timeout(600)
  void repairAppliesMissedEventsOnceAndReReadingChangesNothing(
      KafkaBroker kafka, PostgresServer postgres) throws Exception {
    try (World world = new World("repair", kafka, postgres)) {
      ProducedLog missed = new ProducedLog().send(kafka.bootstrapServers(), world.setup.warmUp());
      Map<TopicPartition, Long> afterMissed = world.endOffsets();
      ProducedLog seen =
          new ProducedLog()
              .send(kafka.bootstrapServers(), world.setup.load(10_000, 0.05, 0.05, 0, 0.01));
      List<ProducedLog.Sent> all = new ArrayList<>(missed.records());
      all.addAll(seen.records());
      ExpectedViews expectedAll = ExpectedViews.fold(all);

      // The live job starts after the warm-up range: it misses it.
      String live = world.submit(world.args(1).with("--start", Position.format(afterMissed)));
      ExpectedViews expectedSeen = ExpectedViews.fold(seen.records());
      world.awaitViews(1, expectedSeen);

      String repaired = world.cli("replay", "repair", "--from", "earliest");
      assertThat(repaired).contains("savepoint:").contains("repair done");
      world.awaitViews(1, expectedAll);
      assertThat(world.flink.state(live)).isEqualTo(JobState.FINISHED);

      // Re-reading what was applied changes nothing, not even a version.
      Map<String, Map<String, String>> before = world.rawEntries(1);
      Set<String> jobsBefore = new java.util.HashSet<>();
      world.flink.jobs().forEach(job -> jobsBefore.add(job.id()));
      String again = world.cli("replay", "repair", "--from", "earliest");
      assertThat(again).contains("repair done");
      Thread.sleep(2000);
      assertThat(world.rawEntries(1)).isEqualTo(before);
      // … and it did re-read: the repair job (the new job, running on as the live job) fed every
      // admitted record of the log to its projections (Flink's REST metrics lag a few seconds).
      List<FlinkRestClient.Job> repairJobs =
          world.flink.jobs().stream().filter(job -> !jobsBefore.contains(job.id())).toList();
      assertThat(repairJobs).as("the second repair's job").hasSize(1);
      long admitted = all.size() - expectedAll.deadLetters.size();
      long[] projected = {0};
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      do {
        Thread.sleep(500);
        projected[0] =
            world.flink.vertices(repairJobs.get(0).id()).stream()
                .filter(vertex -> vertex.name().startsWith("project"))
                .mapToLong(FlinkRestClient.Vertex::recordsRead)
                .sum();
      } while (projected[0] < admitted && System.nanoTime() < deadline);
      assertThat(projected[0]).as("records the repair's projections read").isEqualTo(admitted);

      // Rescale the live job from 1 to 2 with its state: events sent afterwards, ids seen before
      // among them, count exactly once.
      String rescale = world.cli("replay", "rescale", "--parallelism", "2");
      assertThat(rescale).contains("savepoint:").contains("runs at parallelism 2");
      String rescaled =
          world.flink.jobs().stream()
              .filter(job -> job.state() == JobState.RUNNING)
              .map(FlinkRestClient.Job::id)
              .findFirst()
              .orElseThrow();
      assertThat(world.flink.vertices(rescaled))
          .filteredOn(vertex -> vertex.name().startsWith("project"))
          .isNotEmpty()
          .allSatisfy(vertex -> assertThat(vertex.parallelism()).isEqualTo(2));
      ProducedLog later =
          new ProducedLog()
              .send(
                  kafka.bootstrapServers(),
                  world.setup.loadAfter(
                      ProjectionTestSetup.WARM_UP_RECORDS + 10_000, 7, 5_000, 0.05, 0.05, 0, 0))
              .sendAgain(
                  kafka.bootstrapServers(), world.setup.prefix, seen.records().subList(0, 2_000));
      all.addAll(later.records());
      world.awaitViews(1, ExpectedViews.fold(all));
      world.cliFails("replay", "rescale", "--parallelism", "500");
      assertThat(world.lastError).contains("--parallelism must be between 1 and 128");
    }
  }

  @Test
  @Timeout(300)
  void boundedRebuildStopsAtItsEndAndBadPositionsAreRefusedBeforeSubmitting(
      KafkaBroker kafka, PostgresServer postgres) throws Exception {
    try (World world = new World("bounded", kafka, postgres)) {
      ProducedLog first = new ProducedLog().send(kafka.bootstrapServers(), world.setup.warmUp());
      Map<TopicPartition, Long> end = world.endOffsets();
      new ProducedLog().send(kafka.bootstrapServers(), world.setup.load(5_000, 0, 0, 0, 0));
      String live = world.submit(world.args(1).with("--start", "earliest"));

      String endSpec = Position.format(end);
      String bounded =
          world.cli(
              "replay",
              "rebuild",
              "--from",
              "earliest",
              "--to",
              endSpec,
              "--generation",
              "5",
              "--checkpoint-interval",
              "3s");
      assertThat(bounded)
          .contains("finished: the bounded range is read and written")
          .contains("read it with tally view … --generation 5");
      assertThat(world.published(5).checkpointInterval())
          .as("the rebuild job's own checkpoint interval, as it resolved it")
          .isEqualTo(Duration.ofSeconds(3));
      assertThat(world.published(5).groupId())
          .as("a rebuild reads with its own consumer group")
          .isEqualTo(world.published(1).groupId() + "-g5");
      assertThat(world.published(1).checkpointInterval())
          .as("the live job's, unchanged")
          .isNotEqualTo(Duration.ofSeconds(3));
      ExpectedViews expectedFirst = ExpectedViews.fold(first.records());
      for (String view : expectedFirst.byView().keySet()) {
        assertThat(ServedViews.valkey(world.setup.valkey, 5, view))
            .as(view + " of the bounded rebuild")
            .isEqualTo(expectedFirst.byView().get(view));
      }

      // As the runbook reads it: a bounded generation is read with tally view --generation.
      String user = expectedFirst.byView().get("user_score").keySet().iterator().next();
      assertThat(world.cli("view", "user-score", user, "--generation", "5"))
          .contains("user_score " + user + ", generation 5");
      String hunt =
          dev.tally.common.views.ViewCatalog.LEADERBOARD.setOf(
              expectedFirst.byView().get("leaderboard").keySet().iterator().next());
      assertThat(world.cli("view", "leaderboard", hunt, "--generation", "5"))
          .contains("leaderboard " + hunt + ", generation 5");

      // The runbook's plan with an end, and a repair from a time.
      assertThat(world.cli("replay", "plan", "--from", "earliest", "--to", endSpec))
          .contains("total: " + String.format("%,d", first.records().size()) + " events");
      assertThat(
              world.cli(
                  "replay", "plan", "--from", "timestamp:" + Instant.now().minusSeconds(3600)))
          .as("a time before every record: the whole log")
          .containsPattern("total: [0-9,]+ events");

      int jobsBefore = world.flink.jobs().size();
      // Positions the broker refuses are bad arguments too: exit 2, one line (docs/runbook.md).
      assertThat(world.cliFails("replay", "plan", "--from", "timestamp:2999-01-01T00:00:00Z"))
          .isEqualTo(2);
      assertThat(world.lastError).contains("is in the future").doesNotContain("Usage");
      world.cliFails("replay", "rebuild", "--from", "timestamp:2999-01-01T00:00:00Z");
      assertThat(world.lastError).contains("is in the future");
      String topic = Lane.P0.topic(world.setup.prefix);
      assertThat(world.cliFails("replay", "repair", "--from", topic + ":99:0")).isEqualTo(2);
      assertThat(world.lastError).contains("has partitions 0..").doesNotContain("Exception");
      assertThat(world.cliFails("replay", "plan", "--from", "sometime")).isEqualTo(2);
      assertThat(world.lastError).contains("accepted: earliest, latest, timestamp:");
      world.cliFails("replay", "rebuild", "--checkpoint-interval", "soon");
      assertThat(world.lastError).contains("--checkpoint-interval 'soon' is not a duration");
      assertThat(world.flink.jobs()).as("nothing was submitted").hasSize(jobsBefore);

      // One replay at a time: while another holds the lease, every operation is refused at once.
      try (var client = world.valkeyServer.client()) {
        client.psetex(
            dev.tally.common.replay.ReplayLease.KEY,
            60_000,
            "rebuild by sre@elsewhere (pid 1) since 2026-12-03T00:00:00Z #0a1b");
        world.cliFails("replay", "rescale", "--parallelism", "2");
        assertThat(world.lastError)
            .contains(
                "another replay is running: rebuild by sre@elsewhere (pid 1) since"
                    + " 2026-12-03T00:00:00Z; one replay at a time")
            .doesNotContain("#0a1b");
        world.cliFails("replay", "cutover");
        assertThat(world.lastError).contains("another replay is running: rebuild by sre@elsewhere");
        assertThat(world.cli("replay", "status"))
            .contains("replay running: rebuild by sre@elsewhere");
        assertThat(world.flink.state(live))
            .as("refused before stopping")
            .isEqualTo(JobState.RUNNING);
        assertThat(world.flink.jobs()).as("nothing was submitted").hasSize(jobsBefore);
        client.del(dev.tally.common.replay.ReplayLease.KEY);
      }

      // The runbook's clean-up of a rebuild not wanted: tally replay discard.
      world.cliFails("replay", "discard", "--generation", "1");
      assertThat(world.lastError).contains("generation 1 is the live job's");
      try (Generations generations = world.generations()) {
        assertThat(generations.keys(5)).isNotEmpty();
        assertThat(generations.hasRows(5)).isTrue();
      }
      assertThat(world.cli("replay", "discard", "--generation", "5"))
          .containsPattern(
              "generation 5 discarded: no job wrote it; [1-9][0-9,]* Valkey keys and [1-9][0-9,]*"
                  + " PostgreSQL rows deleted");
      try (Generations generations = world.generations()) {
        assertThat(generations.keys(5)).as("no key of generation 5 left").isEmpty();
        assertThat(generations.hasRows(5)).as("no row of generation 5 left").isFalse();
        assertThat(generations.keys(1)).as("the live generation untouched").isNotEmpty();
      }
      assertThat(world.flink.state(live)).isEqualTo(JobState.RUNNING);
      // Stores given to replay must be the live job's: another server's views would be switched.
      world.cliFails("replay", "rescale", "--parallelism", "2", "--valkey", "redis://127.0.0.1:1");
      assertThat(world.lastError)
          .contains("--valkey (or $TALLY_VALKEY) names 127.0.0.1:1, but the live job " + live)
          .contains("writes Valkey at " + world.valkeyServer.host());
      world.cliFails("replay", "status", "--jdbc-url", "jdbc:postgresql://127.0.0.1:1/elsewhere");
      assertThat(world.lastError)
          .contains("names jdbc:postgresql://127.0.0.1:1/elsewhere, but the live job " + live);
      assertThat(world.flink.state(live)).as("refused before stopping").isEqualTo(JobState.RUNNING);

      // The runbook's hand resubmission reads a job's arguments with tally flink args; its
      // cancel goes through tally flink cancel.
      assertThat(world.cli("flink", "args", live))
          .as("the published arguments, quoted for a shell")
          .contains("--generation 1")
          .contains("--bootstrap-servers " + kafka.bootstrapServers());
      world.cli("flink", "cancel", live);
      assertThat(world.flink.state(live)).isEqualTo(JobState.CANCELED);

      // Secrets given inline are not published; replay refuses to restart such a job.
      Path kafkaFile = Files.createTempFile("kafka", ".properties");
      Files.writeString(kafkaFile, "ssl.keystore.password=hunter-from-file\n");
      List<String> withSecrets = new ArrayList<>(world.args(1).list());
      withSecrets.addAll(
          List.of(
              "--kafka-property",
              "sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required"
                  + " username=\"u\" password=\"hunter-inline\";",
              "--kafka-property=ssl.truststore.password=hunter-2",
              "--kafka-properties-file",
              kafkaFile.toString()));
      String secretive =
          world.submit(
              new dev.tally.common.flink.JobArguments(withSecrets).with("--start", "earliest"));
      world.awaitRunning(secretive);
      String published =
          java.net.http.HttpClient.newHttpClient()
              .send(
                  java.net.http.HttpRequest.newBuilder(
                          java.net.URI.create(rest + "/jobs/" + secretive + "/config"))
                      .build(),
                  java.net.http.HttpResponse.BodyHandlers.ofString())
              .body();
      assertThat(published)
          .as("GET /jobs/<id>/config")
          .contains("tally.args", "sasl.jaas.config=<redacted>", kafkaFile.toString())
          .doesNotContain("hunter");
      world.cliFails("replay", "repair", "--from", "earliest");
      assertThat(world.lastError)
          .contains("cannot repair", "sasl.jaas.config, ssl.truststore.password")
          .contains("--kafka-properties-file");
      assertThat(world.flink.state(secretive))
          .as("refused before stopping")
          .isEqualTo(JobState.RUNNING);
    }
  }

  /**
   * One test's topics, schema, CLI and its own valkey-server: generations and the served pointer
   * are global to a server, and view keys do not carry the topic prefix.
   */
  static final class World implements AutoCloseable {
    final ValkeyServer valkeyServer = ValkeyServer.start();
    final ProjectionTestSetup setup;
    final FlinkRestClient flink = new FlinkRestClient(rest);
    final KafkaBroker kafka;
    final Path passwordFile;
    String lastError = "";

    World(String name, KafkaBroker kafka, PostgresServer postgres) throws Exception {
      this.kafka = kafka;
      setup = new ProjectionTestSetup(name, kafka, valkeyServer, postgres, Duration.ofSeconds(2));
      passwordFile = Files.createTempFile("pg", ".secret");
      Files.writeString(
          passwordFile, setup.schema.password() == null ? "" : setup.schema.password());
    }

    dev.tally.common.flink.JobArguments args(int generation) {
      return new dev.tally.common.flink.JobArguments(
          List.of(
              "--bootstrap-servers",
              kafka.bootstrapServers(),
              "--topic-prefix",
              setup.prefix,
              "--group-id",
              "replay-" + setup.prefix,
              "--valkey",
              valkeyServer.uri(),
              "--jdbc-url",
              setup.schema.jdbcUrl(),
              "--jdbc-user",
              setup.schema.user(),
              "--jdbc-password-file",
              passwordFile.toString(),
              "--checkpoint-interval",
              "2s",
              "--max-out-of-orderness",
              "2s",
              "--allowed-lateness",
              "30s",
              "--postgres-interval",
              "500ms",
              "--kafka-property",
              "max.partition.fetch.bytes=16384",
              "--parallelism",
              "1",
              "--generation",
              Integer.toString(generation)));
    }

    void awaitRunning(String jobId) throws InterruptedException {
      long deadline = System.nanoTime() + Duration.ofMinutes(1).toNanos();
      while (!flink.allTasksRunning(jobId)) {
        if (System.nanoTime() > deadline) {
          throw new AssertionError("job " + jobId + " not running within a minute");
        }
        Thread.sleep(200);
      }
    }

    String submit(dev.tally.common.flink.JobArguments args) {
      return flink.submit(
          JAR, FlinkRestClient.Submission.of(ProjectionJob.class.getName(), args.list()));
    }

    Generations generations() {
      return new Generations(
          ValkeyEndpoint.parse(valkeyServer.uri(), false, null),
          setup.schema.jdbcUrl(),
          setup.schema.user(),
          setup.schema.password());
    }

    Map<TopicPartition, Long> endOffsets() {
      Map<TopicPartition, Long> ends = new HashMap<>();
      List<String> topics = new ArrayList<>();
      for (Lane lane : Lane.values()) {
        topics.add(lane.topic(setup.prefix));
      }
      new PositionResolver(kafka.admin())
          .retained(topics)
          .forEach((partition, range) -> ends.put(partition, range.end()));
      return ends;
    }

    /** Waits until every Valkey view of {@code generation} equals the expected fold. */
    void awaitViews(int generation, ExpectedViews expected) throws InterruptedException {
      long deadline = System.nanoTime() + Duration.ofMinutes(3).toNanos();
      Map<String, Map<String, Map<String, Long>>> want = expected.byView();
      while (true) {
        Map<String, Map<String, Map<String, Long>>> served = new HashMap<>();
        for (String view : want.keySet()) {
          served.put(view, ServedViews.valkey(setup.valkey, generation, view));
        }
        if (served.equals(want) || System.nanoTime() > deadline) {
          for (String view : want.keySet()) {
            assertThat(differences(served.get(view), want.get(view)))
                .as(view + " in generation " + generation + ": served vs expected")
                .isEmpty();
          }
          return;
        }
        Thread.sleep(500);
      }
    }

    /** Entries whose served value differs from the expected one (either side may be absent). */
    static List<String> differences(
        Map<String, Map<String, Long>> served, Map<String, Map<String, Long>> expected) {
      Set<String> keys = new TreeSet<>(served.keySet());
      keys.addAll(expected.keySet());
      List<String> differences = new ArrayList<>();
      for (String key : keys) {
        if (!java.util.Objects.equals(served.get(key), expected.get(key))) {
          differences.add(key + ": served " + served.get(key) + ", expected " + expected.get(key));
        }
      }
      return differences.size() > 20 ? differences.subList(0, 20) : differences;
    }

    /** Every hash of a generation with all its fields (versions and partials included). */
    Map<String, Map<String, String>> rawEntries(int generation) {
      Map<String, Map<String, String>> entries = new HashMap<>();
      try (Generations generations = generations()) {
        for (String key : generations.keys(generation)) {
          if (!ViewKeys.reserved(key) && !key.endsWith(":rank") && !key.endsWith(":rank:cache")) {
            entries.put(key, generations.valkeyClient().hgetAll(key));
          }
        }
      }
      return entries;
    }

    String cli(String... args) {
      StringWriter out = new StringWriter();
      StringWriter err = new StringWriter();
      int code = run(out, err, args);
      assertThat(code)
          .as(String.join(" ", args) + "\nstdout:\n" + out + "\nstderr:\n" + err)
          .isZero();
      return out.toString();
    }

    /** Runs a command that must fail; its exit code. */
    int cliFails(String... args) {
      StringWriter out = new StringWriter();
      StringWriter err = new StringWriter();
      int code = run(out, err, args);
      assertThat(code).as(String.join(" ", args) + " should fail; stdout:\n" + out).isNotZero();
      lastError = err.toString();
      return code;
    }

    private int run(StringWriter out, StringWriter err, String... args) {
      List<String> all = new ArrayList<>(List.of(args));
      switch (args[0]) {
        case "replay" -> {
          all.addAll(
              List.of(
                  "--flink",
                  rest,
                  "--jar",
                  JAR.toString(),
                  "--timeout",
                  "5min",
                  "--progress-interval",
                  "1s"));
          if (args[1].equals("cutover") || args[1].equals("rollback")) {
            all.addAll(List.of("--verify-timeout", "20s"));
          }
        }
        case "flink" -> all.addAll(List.of("--rest", rest));
        case "view" -> all.addAll(List.of("--valkey", valkeyServer.uri()));
        default -> throw new IllegalArgumentException("no connection options for " + args[0]);
      }
      var commandLine = TallyCli.commandLine();
      commandLine.setOut(new PrintWriter(out, true));
      commandLine.setErr(new PrintWriter(err, true));
      return commandLine.execute(all.toArray(String[]::new));
    }

    /** The options the job writing {@code generation} resolved and published (any state). */
    PublishedOptions published(int generation) {
      for (FlinkRestClient.Job job : flink.jobs()) {
        PublishedOptions options =
            PublishedOptions.fromParameters(flink.userConfig(job.id()), job.id());
        if (options.generation() == generation) {
          return options;
        }
      }
      throw new AssertionError("no job writes generation " + generation);
    }

    /** The generations the running jobs write (from their published arguments). */
    List<Integer> runningGenerations() {
      List<Integer> generations = new ArrayList<>();
      for (FlinkRestClient.Job job : flink.jobs()) {
        if (job.state() == JobState.RUNNING) {
          generations.add(
              PublishedOptions.fromParameters(flink.userConfig(job.id()), job.id()).generation());
        }
      }
      return generations;
    }

    /** Cancels every running job and stops this world's Valkey. */
    @Override
    public void close() {
      for (FlinkRestClient.Job job : flink.jobs()) {
        if (job.state() == JobState.RUNNING) {
          flink.cancel(job.id());
        }
      }
      valkeyServer.close();
    }
  }

  /**
   * Reads like an API would, all the time: a user's score must never be missing or go back, and a
   * hunt's leaderboard must always hold every member (never a partial ranking).
   */
  static final class Reader implements Runnable {
    final AtomicBoolean stop = new AtomicBoolean();
    final AtomicLong reads = new AtomicLong();
    final ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
    final Set<Integer> generationsSeen = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private final World world;
    private final List<String> users;
    private final Map<String, Integer> huntSizes = new HashMap<>();

    Reader(World world, ExpectedViews expected) {
      this.world = world;
      this.users = new ArrayList<>(new TreeSet<>(expected.userScore.keySet())).subList(0, 40);
      for (String key : expected.leaderboard.keySet()) {
        huntSizes.merge(key.substring(0, key.indexOf('|')), 1, Integer::sum);
      }
    }

    @Override
    public void run() {
      Map<String, Long> lastPoints = new HashMap<>();
      try (ViewClient client =
          new ViewClient(
              ValkeyEndpoint.parse(world.valkeyServer.uri(), false, null), null, null, null)) {
        while (!stop.get()) {
          for (String user : users) {
            ViewClient.Entry entry = client.entry(UserScoreView.NAME, user);
            if (entry.source() == ViewClient.Source.NONE) {
              failures.add("missing " + entry.valkeyKey());
              continue;
            }
            generationsSeen.add(
                Integer.parseInt(entry.valkeyKey().replaceAll(".*:g(\\d+):.*", "$1")));
            long points = entry.fields().get("points");
            Long before = lastPoints.put(user, points);
            if (before != null && points < before) {
              failures.add(user + " went back from " + before + " to " + points);
            }
            reads.incrementAndGet();
          }
          for (Map.Entry<String, Integer> hunt : huntSizes.entrySet()) {
            int members = client.top(LeaderboardView.NAME, hunt.getKey(), 100_000).size();
            if (members != hunt.getValue()) {
              failures.add(
                  "leaderboard "
                      + hunt.getKey()
                      + " had "
                      + members
                      + " of "
                      + hunt.getValue()
                      + " members");
            }
            reads.incrementAndGet();
          }
        }
      } catch (RuntimeException e) {
        failures.add("reader failed: " + e);
      }
    }
  }
}
