package dev.tally.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tally.common.views.Partial;
import dev.tally.common.views.PostgresViewStore;
import dev.tally.common.views.ValkeyEndpoint;
import dev.tally.common.views.ValkeyViewStore;
import dev.tally.common.views.ViewKeys;
import dev.tally.common.views.ViewUpdate;
import dev.tally.testing.KafkaBroker;
import dev.tally.testing.KafkaExtension;
import dev.tally.testing.PostgresExtension;
import dev.tally.testing.PostgresServer;
import dev.tally.testing.TestDirs;
import dev.tally.testing.ValkeyExtension;
import dev.tally.testing.ValkeyServer;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.config.TopicConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import picocli.CommandLine;

/** The {@code tally} command run in-process against the real broker. */
@ExtendWith({
  KafkaExtension.class,
  ValkeyExtension.class,
  PostgresExtension.class,
  dev.tally.testing.ValkeyClusterExtension.class
})
class TallyCliIT {

  /** What one command printed, and its exit code. */
  record Run(int exitCode, String out, String err) {}

  static Run tally(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine commandLine = TallyCli.commandLine();
    commandLine.setOut(new PrintWriter(out));
    commandLine.setErr(new PrintWriter(err));
    int exit = commandLine.execute(args);
    return new Run(exit, out.toString(), err.toString());
  }

  @Test
  void topicsApplyTwiceIsANoOpTheSecondTime(KafkaBroker kafka) {
    String prefix = kafka.uniqueTopicName("cli") + ".";

    Run first = tally("topics", "apply", "-b", kafka.bootstrapServers(), "--topic-prefix", prefix);
    Run second = tally("topics", "apply", "-b", kafka.bootstrapServers(), "--topic-prefix", prefix);
    Run describe =
        tally("topics", "describe", "-b", kafka.bootstrapServers(), "--topic-prefix", prefix);

    assertThat(first.exitCode()).isZero();
    assertThat(first.out().lines()).hasSize(4).allMatch(line -> line.startsWith("created"));
    assertThat(second.exitCode()).isZero();
    assertThat(second.out().lines())
        .containsExactly(
            "unchanged " + prefix + "events.p0",
            "unchanged " + prefix + "events.p1",
            "unchanged " + prefix + "events.p2",
            "unchanged " + prefix + "events.dead-letter");
    assertThat(describe.exitCode()).isZero();
    assertThat(describe.out()).contains(prefix + "events.p0", "LogAppendTime", "delete");
  }

  @Test
  void lagSaysWhenAGroupHasCommittedNothingAndCountsFromWhatItCommitted(KafkaBroker kafka)
      throws Exception {
    String bootstrap = kafka.bootstrapServers();
    String prefix = "cli-lag-";
    assertThat(tally("topics", "apply", "-b", bootstrap, "--topic-prefix", prefix).exitCode())
        .isZero();
    kafka.awaitTopics(
        java.util.Arrays.stream(dev.tally.common.events.Lane.values())
            .map(lane -> lane.topic(prefix))
            .toList());
    Run produce =
        tally(
            "produce", "--events", "300", "--seed", "3", "-b", bootstrap, "--topic-prefix", prefix);
    assertThat(produce.exitCode()).as(produce.err()).isZero();

    Run unknown = tally("lag", "--group", "nobody", "-b", bootstrap, "--topic-prefix", prefix);
    assertThat(unknown.exitCode()).isEqualTo(1);
    assertThat(unknown.err())
        .contains("consumer group nobody has committed no offsets", "check --group")
        .doesNotContain("\tat ");
    assertThat(unknown.out()).as("no lag table for an unknown group").doesNotContain("total lag");

    org.apache.kafka.common.TopicPartition p0 =
        new org.apache.kafka.common.TopicPartition(prefix + "events.p0", 0);
    long end;
    try (org.apache.kafka.clients.admin.Admin admin =
        org.apache.kafka.clients.admin.Admin.create(
            Map.<String, Object>of("bootstrap.servers", bootstrap))) {
      end =
          admin
              .listOffsets(Map.of(p0, org.apache.kafka.clients.admin.OffsetSpec.latest()))
              .partitionResult(p0)
              .get(30, TimeUnit.SECONDS)
              .offset();
      admin
          .alterConsumerGroupOffsets(
              "cli-lag", Map.of(p0, new org.apache.kafka.clients.consumer.OffsetAndMetadata(1)))
          .all()
          .get(30, TimeUnit.SECONDS);
    }
    assertThat(end).as("records in %s", p0).isGreaterThan(1);
    Run lag =
        tally(
            "lag",
            "--group",
            "cli-lag",
            "-b",
            bootstrap,
            "--topic-prefix",
            prefix,
            "--lanes",
            "p0");
    assertThat(lag.exitCode()).as(lag.err()).isZero();
    assertThat(lag.out())
        .containsPattern(
            "cli-lag-events\\.p0 +0 +1 +"
                + String.format("%,d", end)
                + " +"
                + String.format("%,d", end - 1));
  }

  @Test
  void aBrokerOutOfReachIsOneLineWithoutAStackTrace() throws Exception {
    // Quick timeouts from the properties file, so the test waits seconds, not the default 30 s.
    Path file = Files.createTempFile(TestDirs.newDirectory("cli-dead"), "kafka", ".properties");
    Files.writeString(file, "default.api.timeout.ms=2000\nrequest.timeout.ms=1000\n");
    for (String[] command :
        List.of(new String[] {"lag", "--group", "g"}, new String[] {"topics", "apply"})) {
      Run run =
          tally(
              concat(
                  command,
                  new String[] {"-b", "127.0.0.1:1", "--kafka-properties-file", file.toString()}));
      assertThat(run.exitCode()).as(String.join(" ", command)).isEqualTo(1);
      assertThat(run.err().strip().lines())
          .as(String.join(" ", command))
          .singleElement()
          .asString()
          .contains(": error: Kafka: ", "is the cluster at --bootstrap-servers up");
    }
  }

  @Test
  void everyKafkaClientOfTheCliTakesThePropertiesFile(KafkaBroker kafka) throws Exception {
    // A secured cluster's settings come from the same file the job takes; here ones the client
    // refuses at once, so the failure shows the file reached the client (ignored, it would work).
    Path file = Files.createTempFile(TestDirs.newDirectory("cli-kafka"), "kafka", ".properties");
    Files.writeString(
        file, "security.protocol=SSL\nssl.truststore.location=/nonexistent/trust.p12\n");
    for (String[] command :
        List.of(
            new String[] {"topics", "describe"},
            new String[] {"lag", "--group", "g"},
            new String[] {"produce", "--events", "1"})) {
      Run run =
          tally(
              concat(
                  command,
                  new String[] {
                    "-b", kafka.bootstrapServers(), "--kafka-properties-file", file.toString()
                  }));
      assertThat(run.exitCode()).as(String.join(" ", command)).isEqualTo(1);
      assertThat(run.err())
          .as(String.join(" ", command))
          .contains("error: Kafka: ", "/nonexistent/trust.p12")
          .doesNotContain("\tat ");
    }
    Run missing =
        tally(
            "topics", "describe", "-b", kafka.bootstrapServers(), "--kafka-properties-file", "no");
    assertThat(missing.exitCode()).isEqualTo(2);
    assertThat(missing.err()).contains("--kafka-properties-file no cannot be read");
  }

  @Test
  void topicsApplyRefusesACompactedTopicNamingTopicAndSetting(KafkaBroker kafka) throws Exception {
    String prefix = kafka.uniqueTopicName("cli-compact") + ".";
    String p2 = prefix + "events.p2";
    kafka
        .admin()
        .createTopics(
            List.of(
                new NewTopic(p2, 2, (short) 1)
                    .configs(Map.of(TopicConfig.CLEANUP_POLICY_CONFIG, "compact"))))
        .all()
        .get(30, TimeUnit.SECONDS);
    awaitVisible(kafka, prefix, p2);

    Run apply = tally("topics", "apply", "-b", kafka.bootstrapServers(), "--topic-prefix", prefix);
    Run describe =
        tally("topics", "describe", "-b", kafka.bootstrapServers(), "--topic-prefix", prefix);

    assertThat(apply.exitCode()).isEqualTo(1);
    assertThat(apply.err())
        .contains("tally topics apply: error: topic " + p2 + " has cleanup.policy=compact");
    assertThat(describe.exitCode()).isEqualTo(1);
    assertThat(describe.out())
        .contains("REFUSED: compacted topics drop events", "missing: run tally topics apply");
  }

  @Test
  void produceSendsWhatItsSummarySays(KafkaBroker kafka) {
    String prefix = kafka.uniqueTopicName("cli-produce") + ".";
    tally("topics", "apply", "-b", kafka.bootstrapServers(), "--topic-prefix", prefix);

    Run produce =
        tally(
            "produce",
            "-b",
            kafka.bootstrapServers(),
            "--topic-prefix",
            prefix,
            "--events",
            "5000",
            "--seed",
            "3",
            "--progress-seconds",
            "0.1");

    assertThat(produce.exitCode()).as(produce.err()).isZero();
    assertThat(produce.out())
        .contains(
            "sent 5,000 records",
            "all acknowledged",
            "records sent                    5,000",
            prefix + "events.p0");

    // Missing topics are refused before anything is sent, naming them and what creates them.
    String absent = kafka.uniqueTopicName("cli-absent") + ".";
    Run refused =
        tally(
            "produce", "-b", kafka.bootstrapServers(), "--topic-prefix", absent, "--events", "10");
    assertThat(refused.exitCode()).isEqualTo(1);
    assertThat(refused.err())
        .contains("tally produce: error: topics " + absent + "events.p0")
        .contains("do not exist; create the lane and dead-letter topics with: tally topics apply")
        .doesNotContain("\tat ");
  }

  @Test
  void produceNamesRecordsTheClusterRefusedInOneLine(KafkaBroker kafka) throws Exception {
    // Lane topics that take no record this large: the broker refuses every batch, as it refuses
    // records during an outage once the delivery timeout has passed; the CLI says so in a line.
    String prefix = kafka.uniqueTopicName("cli-refused") + ".";
    List<NewTopic> topics = new java.util.ArrayList<>();
    for (dev.tally.common.events.Lane lane : dev.tally.common.events.Lane.values()) {
      topics.add(
          new NewTopic(lane.topic(prefix), 1, (short) 1)
              .configs(Map.of(TopicConfig.MAX_MESSAGE_BYTES_CONFIG, "16")));
    }
    kafka.admin().createTopics(topics).all().get(30, TimeUnit.SECONDS);
    kafka.awaitTopics(topics.stream().map(NewTopic::name).toList());

    Run describe =
        tally(
            "topics",
            "describe",
            "--partitions",
            "-b",
            kafka.bootstrapServers(),
            "--topic-prefix",
            prefix);
    Run produce =
        tally(
            "produce",
            "-b",
            kafka.bootstrapServers(),
            "--topic-prefix",
            prefix,
            "--events",
            "20",
            "--malformed",
            "0",
            "--delivery-timeout",
            "5s");
    Run tooShort =
        tally(
            "produce",
            "-b",
            kafka.bootstrapServers(),
            "--topic-prefix",
            prefix,
            "--delivery-timeout",
            "10ms");

    // One row per partition, with its leader and replicas; a single broker's are in sync.
    assertThat(describe.out())
        .contains("PARTITION", "LEADER", "REPLICAS", "ISR")
        .containsPattern(
            java.util.regex.Pattern.quote(prefix) + "events\\.p0-0 +(\\d+) +\\1 +\\1 +ok");
    assertThat(produce.exitCode()).as(produce.err()).isEqualTo(1);
    assertThat(produce.err())
        .contains("tally produce: error: 20 sends failed", "--delivery-timeout 5s")
        .contains("RecordTooLarge")
        .doesNotContain("\tat ");
    assertThat(tooShort.exitCode()).isEqualTo(2);
    assertThat(tooShort.err()).contains("--delivery-timeout must be at least 1s, got 10ms");
  }

  @Test
  void sameSeedWritesTheSameBytesTwice() throws Exception {
    Path dir = TestDirs.newDirectory("cli-output");
    Path first = dir.resolve("first.bin");
    Path second = dir.resolve("second.bin");
    Path otherSeed = dir.resolve("other.bin");

    assertThat(
            tally("produce", "--events", "20000", "--seed", "11", "--output", first.toString())
                .exitCode())
        .isZero();
    assertThat(
            tally("produce", "--events", "20000", "--seed", "11", "--output", second.toString())
                .exitCode())
        .isZero();
    assertThat(
            tally("produce", "--events", "20000", "--seed", "12", "--output", otherSeed.toString())
                .exitCode())
        .isZero();

    assertThat(Files.size(first)).isGreaterThan(20000L * 10);
    assertThat(Files.mismatch(first, second)).isEqualTo(-1L);
    assertThat(Files.mismatch(first, otherSeed)).isNotEqualTo(-1L);
  }

  @Test
  void badArgumentsSayWhatIsWrongAndWhatIsAccepted() {
    Run fraction = tally("produce", "--duplicates", "1.5");
    Run replication =
        tally("topics", "apply", "-b", "127.0.0.1:1", "--replication-factor", "three");
    Run start = tally("produce", "--start", "yesterday");
    Run noCluster = tally("produce", "--events", "1");

    assertThat(fraction.exitCode()).isEqualTo(2);
    assertThat(fraction.err())
        .contains("duplicates must be a fraction in [0, 1], got 1.5", "Usage: tally produce");
    assertThat(replication.exitCode()).isEqualTo(2);
    assertThat(replication.err())
        .contains("--replication-factor must be a positive number or 'auto', got 'three'");
    assertThat(start.exitCode()).isEqualTo(2);
    assertThat(start.err())
        .contains("--start must be an ISO-8601 instant like 2026-01-01T00:00:00Z, or 'now'");
    if (System.getenv(KafkaOptions.BOOTSTRAP_ENV) == null) {
      assertThat(noCluster.exitCode()).as("a missing argument").isEqualTo(2);
      assertThat(noCluster.err()).contains("no Kafka cluster given: pass --bootstrap-servers");
    }
    // A grace of 0s deleted the old generation at once and then failed after the switch; refused
    // before anything is looked up or stopped (the Flink address is a closed port: not reached).
    for (String command : List.of("cutover", "rollback")) {
      Run grace =
          tally("replay", command, "--grace", "0s", "--flink", "http://127.0.0.1:1", "-b", "x:1");
      assertThat(grace.exitCode()).as("replay %s --grace 0s", command).isEqualTo(2);
      assertThat(grace.err())
          .contains("--grace 0s is below the minimum of 10m")
          .doesNotContain("127.0.0.1:1");
    }
    // A job id that is not Flink's form, refused before the cluster (a closed port) is called.
    Run jobId =
        tally(
            "flink",
            "submit",
            "--rest",
            "http://127.0.0.1:1",
            "--jar",
            "pom.xml",
            "--class",
            "C",
            "--job-id",
            "job-1");
    assertThat(jobId.exitCode()).isEqualTo(2);
    assertThat(jobId.err())
        .contains("--job-id must be 32 hex digits (Flink's job id), got job-1")
        .doesNotContain("unreachable");
  }

  @Test
  void cacheStatusAndWarmRefillValkeyFromPostgres(ValkeyServer valkey, PostgresServer postgres)
      throws Exception {
    PostgresServer.Schema schema = postgres.newSchema("cli-cache");
    PostgresViewStore.migrate(schema.jdbcUrl(), schema.user(), schema.password());
    int generation = 700 + (int) (System.nanoTime() % 100);
    try (Connection connection = schema.connect();
        PreparedStatement upsert = connection.prepareStatement(PostgresViewStore.UPSERT)) {
      ViewUpdate update =
          new ViewUpdate(
              "user_score",
              "cli-user",
              "live/p0",
              3,
              Partial.builder().sum("points", 30).sum("events", 3).build(),
              0);
      PostgresViewStore.bind(upsert, update, generation);
      upsert.executeUpdate();
    }
    String[] stores = {
      "--valkey",
      valkey.uri(),
      "--jdbc-url",
      schema.jdbcUrl(),
      "--jdbc-user",
      schema.user(),
      "--generation",
      Integer.toString(generation)
    };

    Run before = tally(concat(new String[] {"cache", "status"}, stores));
    Run warm = tally(concat(new String[] {"cache", "warm"}, stores));
    Run after = tally(concat(new String[] {"cache", "status"}, stores));
    Run again = tally(concat(new String[] {"cache", "warm"}, stores));

    assertThat(before.exitCode()).isEqualTo(1);
    assertThat(before.out()).contains("64 of 64 tags incomplete in Valkey");
    assertThat(warm.exitCode()).as(warm.err()).isZero();
    assertThat(warm.out()).contains("1 partials read", "64 tags marked complete");
    assertThat(after.exitCode()).isZero();
    assertThat(after.out()).contains("complete in Valkey (all 64 tags marked)");
    assertThat(again.out()).contains("nothing to warm");
    try (var jedis = valkey.client()) {
      assertThat(jedis.hget(ViewKeys.entry(generation, "user_score", "cli-user"), "points"))
          .isEqualTo("30");
    }
    // A key deleted by hand (docs/runbook.md: not a repair's job): warm --all brings it back.
    try (var jedis = valkey.client()) {
      jedis.del(ViewKeys.entry(generation, "user_score", "cli-user"));
    }
    Run refill = tally(concat(new String[] {"cache", "warm", "--all"}, stores));
    assertThat(refill.exitCode()).as(refill.err()).isZero();
    try (var jedis = valkey.client()) {
      assertThat(jedis.hget(ViewKeys.entry(generation, "user_score", "cli-user"), "points"))
          .as("restored from PostgreSQL")
          .isEqualTo("30");
    }

    // tally view reads a generation that is not served (a rebuild's, before its cutover) by
    // --generation; without it, the served one (1 here: no pointer), which lacks the entry.
    Run view = tally(concat(new String[] {"view", "user-score", "cli-user"}, stores));
    assertThat(view.exitCode()).as(view.err()).isZero();
    assertThat(view.out())
        .contains("user_score cli-user, generation " + generation + " (from valkey")
        .containsPattern("points +30");
    Run served =
        tally(
            "view",
            "user-score",
            "cli-user",
            "--valkey",
            valkey.uri(),
            "--jdbc-url",
            schema.jdbcUrl(),
            "--jdbc-user",
            schema.user());
    assertThat(served.exitCode()).isEqualTo(1);
    assertThat(served.out()).contains("not found");
    Run badMinute = tally("view", "activity", "CHECKIN", "yesterday", "--valkey", valkey.uri());
    assertThat(badMinute.exitCode()).isEqualTo(2);
    assertThat(badMinute.err())
        .contains(
            "MINUTE must be an ISO-8601 instant such as 2026-01-01T00:05:00Z, got 'yesterday'")
        .doesNotContain("\tat ");
    Run noTop = tally("view", "leaderboard", "hunt-0", "--top", "0", "--valkey", valkey.uri());
    assertThat(noTop.exitCode()).isEqualTo(2);
    assertThat(noTop.err()).contains("--top must be >= 1, got 0");

    Run badGeneration = tally("cache", "status", "--valkey", valkey.uri(), "--generation", "0");
    assertThat(badGeneration.exitCode()).isEqualTo(2);
    assertThat(badGeneration.err()).contains("--generation must be >= 1, got 0");
    Run deadPostgres =
        tally(
            "cache",
            "warm",
            "--valkey",
            valkey.uri(),
            "--jdbc-url",
            "jdbc:postgresql://127.0.0.1:1/tally",
            "--generation",
            Integer.toString(generation));
    assertThat(deadPostgres.exitCode()).isEqualTo(1);
    assertThat(deadPostgres.err())
        .contains(
            "tally cache warm: error: cannot read PostgreSQL at jdbc:postgresql://127.0.0.1:1")
        .doesNotContain("\tat ");
  }

  @Test
  void verifyComparesTheServedViewsAndDeadLettersWithAFoldOfTheLog(
      KafkaBroker kafka, ValkeyServer valkey) throws Exception {
    String prefix = kafka.uniqueTopicName("cli-verify") + ".";
    tally("topics", "apply", "-b", kafka.bootstrapServers(), "--topic-prefix", prefix);
    java.time.Instant t0 = java.time.Instant.parse("2026-05-01T10:00:00Z");
    dev.tally.events.Event checkIn =
        new dev.tally.events.Event(
            "00000000-0000-7000-8000-000000000001",
            dev.tally.events.EventType.CHECKIN,
            "v-user",
            null,
            t0,
            "test",
            new dev.tally.events.CheckIn("place", null));
    dev.tally.events.Event bonus =
        new dev.tally.events.Event(
            "00000000-0000-7000-8000-000000000002",
            dev.tally.events.EventType.DAILY_BONUS,
            "v-user",
            null,
            t0.plusSeconds(1),
            "test",
            new dev.tally.events.DailyBonus(java.time.LocalDate.parse("2026-05-01")));
    org.apache.kafka.clients.producer.RecordMetadata bad;
    try (dev.tally.common.kafka.EventProducer producer =
        new dev.tally.common.kafka.EventProducer(
            kafka.bootstrapServers(), prefix, new java.util.Properties())) {
      producer.send(checkIn).join();
      producer.send(bonus).join();
      producer.send(checkIn).join(); // a duplicate
      bad =
          producer
              .sendRaw(dev.tally.common.events.Lane.P0.topic(prefix), "v-user", new byte[] {1, 2})
              .join();
    }
    int generation = 600 + (int) (System.nanoTime() % 100);
    String lane0 =
        "live/"
            + dev.tally.common.events.Lane.of(dev.tally.events.EventType.CHECKIN)
                .name()
                .toLowerCase();
    String lane2 =
        "live/"
            + dev.tally.common.events.Lane.of(dev.tally.events.EventType.DAILY_BONUS)
                .name()
                .toLowerCase();
    try (ValkeyViewStore store =
        new ValkeyViewStore(ValkeyEndpoint.parse(valkey.uri(), false, null), generation, 100)) {
      store.apply(
          List.of(
              new ViewUpdate(
                  "user_score",
                  "v-user",
                  lane0,
                  1,
                  Partial.builder()
                      .sum("points", 10)
                      .sum("events", 1)
                      .max("last_activity_ms", t0.toEpochMilli())
                      .build(),
                  0),
              new ViewUpdate(
                  "user_score",
                  "v-user",
                  lane2,
                  1,
                  Partial.builder()
                      .sum("points", 100)
                      .sum("events", 1)
                      .max("last_activity_ms", t0.toEpochMilli() + 1000)
                      .build(),
                  0),
              new ViewUpdate(
                  "activity",
                  "CHECKIN|2026-05-01T10:00:00Z",
                  lane0,
                  1,
                  Partial.builder().sum("count", 1).build(),
                  0),
              new ViewUpdate(
                  "activity",
                  "DAILY_BONUS|2026-05-01T10:00:00Z",
                  lane2,
                  1,
                  Partial.builder().sum("count", 1).build(),
                  0)));
    }
    String[] verify = {
      "verify",
      "-b",
      kafka.bootstrapServers(),
      "--topic-prefix",
      prefix,
      "--valkey",
      valkey.uri(),
      "--generation",
      Integer.toString(generation)
    };

    Run withoutTheDeadLetter = tally(verify);
    assertThat(withoutTheDeadLetter.exitCode()).isEqualTo(1);
    assertThat(withoutTheDeadLetter.out())
        .contains("log: 4 records, 2 counted, 1 duplicates, 1 dead letters expected")
        .contains("1 missing");

    java.util.Properties props = kafka.clientProperties();
    try (var producer =
        new org.apache.kafka.clients.producer.KafkaProducer<byte[], byte[]>(
            props,
            new org.apache.kafka.common.serialization.ByteArraySerializer(),
            new org.apache.kafka.common.serialization.ByteArraySerializer())) {
      var letter =
          new org.apache.kafka.clients.producer.ProducerRecord<byte[], byte[]>(
              dev.tally.common.kafka.EventTopics.deadLetter(prefix), new byte[] {1, 2});
      letter.headers().add("tally.reason", "bad-header".getBytes(StandardCharsets.UTF_8));
      letter.headers().add("tally.source.topic", bad.topic().getBytes(StandardCharsets.UTF_8));
      letter
          .headers()
          .add(
              "tally.source.partition",
              Integer.toString(bad.partition()).getBytes(StandardCharsets.UTF_8));
      letter
          .headers()
          .add("tally.source.offset", Long.toString(bad.offset()).getBytes(StandardCharsets.UTF_8));
      producer.send(letter).get();
    }
    Run clean = tally(verify);
    assertThat(clean.exitCode()).as(clean.out() + clean.err()).isZero();
    assertThat(clean.out()).contains("verify: views and dead letters equal the log");

    try (var jedis = valkey.client()) {
      jedis.hset(ViewKeys.entry(generation, "user_score", "v-user"), "events", "1");
    }
    Run lost = tally(verify);
    assertThat(lost.exitCode()).isEqualTo(1);
    assertThat(lost.out())
        .contains("valkey user_score v-user: expected")
        .contains("verify: DIFFERENCES");
  }

  private static String[] concat(String[] a, String[] b) {
    String[] all = java.util.Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, all, a.length, b.length);
    return all;
  }

  @Test
  void everyCommandHasHelp() {
    // Every command and subcommand, found by walking the command tree, so a new one is covered.
    List<List<String>> commands = new java.util.ArrayList<>();
    collect(TallyCli.commandLine(), new java.util.ArrayList<>(), commands);
    assertThat(commands)
        .contains(
            List.of("lag"),
            List.of("view", "user-score"),
            List.of("replay", "cutover"),
            List.of("replay", "rollback"),
            List.of("db", "migrate"));
    for (List<String> command : commands) {
      List<String> args = new java.util.ArrayList<>(command);
      args.add("--help");
      Run help = tally(args.toArray(String[]::new));
      assertThat(help.exitCode()).as("tally %s --help", String.join(" ", command)).isZero();
      assertThat(help.out())
          .as("tally %s --help", String.join(" ", command))
          .startsWith("Usage: tally" + (command.isEmpty() ? "" : " " + String.join(" ", command)));
    }
  }

  private static void collect(CommandLine command, List<String> path, List<List<String>> commands) {
    commands.add(List.copyOf(path));
    command
        .getSubcommands()
        .forEach(
            (name, sub) -> {
              if (name.equals("help") || !sub.getCommandName().equals(name)) {
                return; // picocli's help command; aliases
              }
              List<String> next = new java.util.ArrayList<>(path);
              next.add(name);
              collect(sub, next, commands);
            });
  }

  @Test
  void verifyReadsEveryNodeOfAValkeyCluster(
      KafkaBroker kafka, dev.tally.testing.ValkeyCluster valkey) throws Exception {
    String prefix = kafka.uniqueTopicName("cli-verify-cluster") + ".";
    tally("topics", "apply", "-b", kafka.bootstrapServers(), "--topic-prefix", prefix);
    Run produce =
        tally(
            "produce",
            "-b",
            kafka.bootstrapServers(),
            "--topic-prefix",
            prefix,
            "--events",
            "3000",
            "--users",
            "400",
            "--late",
            "0",
            "--malformed",
            "0",
            "--seed",
            "17");
    assertThat(produce.exitCode()).as(produce.err()).isZero();

    // The served views as the job would leave them (the fold's values, one writer each), written
    // through the cluster: the entries spread over the three masters' slots.
    Map<dev.tally.events.EventType, Long> points =
        new java.util.EnumMap<>(dev.tally.events.EventType.class);
    String table =
        TallyCli.commandLine()
            .getSubcommands()
            .get("verify")
            .getCommandSpec()
            .findOption("--points")
            .defaultValue();
    for (String rule : table.split(",")) {
      String[] parts = rule.split("=");
      points.put(dev.tally.events.EventType.valueOf(parts[0]), Long.parseLong(parts[1]));
    }
    dev.tally.common.verify.LogFold.Result fold =
        dev.tally.common.verify.LogFold.fold(
            kafka.bootstrapServers(),
            Map.of(),
            prefix,
            List.of(dev.tally.common.events.Lane.values()),
            new dev.tally.common.verify.LogFold.Rules(
                java.time.Duration.ofDays(7),
                java.time.Duration.ofSeconds(10),
                java.time.Duration.ofSeconds(60),
                java.time.Duration.ofMinutes(1),
                points));
    List<String> nodes =
        valkey.nodes().stream().map(n -> n.getHost() + ":" + n.getPort()).sorted().toList();
    ValkeyEndpoint endpoint = new ValkeyEndpoint(nodes, true, null);
    int generation = 700 + (int) (System.nanoTime() % 100);
    List<ViewUpdate> updates = new java.util.ArrayList<>();
    fold.views()
        .forEach(
            (view, entries) ->
                entries.forEach(
                    (key, fields) -> {
                      Partial partial = Partial.builder();
                      fields.forEach(
                          (field, value) -> {
                            if (field.equals("last_activity_ms")) {
                              partial.max(field, value);
                            } else {
                              partial.sum(field, value);
                            }
                          });
                      updates.add(new ViewUpdate(view, key, "live/p0", 1, partial, 0));
                    }));
    try (ValkeyViewStore store = new ValkeyViewStore(endpoint, generation, 500)) {
      store.apply(updates);
    }
    for (io.valkey.HostAndPort node : valkey.nodes()) {
      try (var client = valkey.nodeClient(node)) {
        assertThat(client.dbSize()).as("entries on master %s", node).isPositive();
      }
    }

    Run verify =
        tally(
            "verify",
            "-b",
            kafka.bootstrapServers(),
            "--topic-prefix",
            prefix,
            "--valkey",
            "redis://" + String.join(",", nodes),
            "--generation",
            Integer.toString(generation));

    assertThat(verify.exitCode()).as(verify.out() + verify.err()).isZero();
    assertThat(verify.out()).contains("lost=0 double=0 different=0 deadletters=0");
    assertThat(updates).hasSizeGreaterThan(400);
  }

  @Test
  void theCliTalksTlsToKafkaValkeyAndPostgres() throws Exception {
    dev.tally.testing.TlsMaterial tls = dev.tally.testing.TlsMaterial.generate();
    try (KafkaBroker kafka = KafkaBroker.start(tls);
        ValkeyServer valkey = ValkeyServer.startTls(tls);
        PostgresServer postgres = PostgresServer.start(tls)) {
      Path properties = TestDirs.newDirectory("cli-tls").resolve("kafka.properties");
      StringBuilder text = new StringBuilder();
      kafka
          .securityProperties()
          .forEach((k, v) -> text.append(k).append('=').append(v).append('\n'));
      Files.writeString(properties, text.toString());
      String[] overTls = {
        "-b", kafka.bootstrapServers(), "--kafka-properties-file", properties.toString()
      };
      PostgresServer.Schema schema = postgres.newSchema("cli_tls");
      String ca = tls.caCertificate().toString();

      Run apply = tally(concat(new String[] {"topics", "apply"}, overTls));
      Run produce =
          tally(concat(new String[] {"produce", "--events", "500", "--seed", "5"}, overTls));
      Run lag = tally(concat(new String[] {"lag", "--group", "cli-tls"}, overTls));
      Run migrate = tally("db", "migrate", "--jdbc-url", schema.jdbcUrl(), "--jdbc-user", "tally");
      String[] stores = {
        "--valkey", valkey.uri(), "--valkey-ca-file", ca, "--jdbc-url", schema.jdbcUrl()
      };
      Run status = tally(concat(new String[] {"cache", "status"}, stores));
      Run untrusted =
          tally("cache", "status", "--valkey", valkey.uri(), "--jdbc-url", schema.jdbcUrl());

      assertThat(schema.jdbcUrl()).contains("sslmode=verify-full");
      assertThat(apply.exitCode()).as(apply.err()).isZero();
      assertThat(apply.out()).contains("created   events.p0");
      assertThat(produce.exitCode()).as(produce.err()).isZero();
      assertThat(produce.out()).contains("sent 500 records", "all acknowledged");
      // The group has committed nothing: said so (read over TLS), not the whole log as lag.
      assertThat(lag.exitCode()).as(lag.err()).isEqualTo(1);
      assertThat(lag.err())
          .contains("consumer group cli-tls has committed no offsets")
          .doesNotContain("Kafka: ");
      assertThat(migrate.exitCode()).as(migrate.err()).isZero();
      // Generation 1 from PostgreSQL, its (empty) tags from Valkey: both read over TLS.
      assertThat(status.err()).isEmpty();
      assertThat(status.out()).contains("generation 1: 64 of 64 tags incomplete in Valkey");
      assertThat(untrusted.exitCode()).isEqualTo(1);
      assertThat(untrusted.err())
          .contains("tally cache status: error: cannot reach Valkey", "PKIX path building failed")
          .doesNotContain("\tat ");
    }
  }

  @Test
  void dbMigrateBringsTheSchemaUpGrantsTheRolesAndNamesADeadServerInOneLine(PostgresServer postgres)
      throws Exception {
    PostgresServer.Schema schema = postgres.newSchema("cli-migrate");
    Run first =
        tally(
            "db",
            "migrate",
            "--jdbc-url",
            schema.jdbcUrl(),
            "--jdbc-user",
            schema.user(),
            "--roles-file",
            "../deploy/postgres/roles.sql");
    assertThat(first.exitCode()).as(first.err()).isZero();
    assertThat(first.out()).containsPattern("schema at version \\d+ \\([1-9]\\d* migration");
    assertThat(first.out()).contains("granted the roles of ../deploy/postgres/roles.sql");
    try (Connection connection = schema.connect();
        var statement = connection.createStatement();
        var grants =
            statement.executeQuery(
                "SELECT privilege_type FROM information_schema.role_table_grants WHERE grantee ="
                    + " 'tally_writer' AND table_schema = '"
                    + schema.name()
                    + "' AND table_name = 'view_partial' ORDER BY 1")) {
      List<String> privileges = new java.util.ArrayList<>();
      while (grants.next()) {
        privileges.add(grants.getString(1));
      }
      assertThat(privileges).containsExactly("INSERT", "SELECT", "UPDATE");
    }
    Run again =
        tally("db", "migrate", "--jdbc-url", schema.jdbcUrl(), "--jdbc-user", schema.user());
    assertThat(again.exitCode()).isZero();
    assertThat(again.out()).contains("(0 migration(s) applied now)");

    Run dead = tally("db", "migrate", "--jdbc-url", "jdbc:postgresql://127.0.0.1:1/tally");
    assertThat(dead.exitCode()).isEqualTo(1);
    assertThat(dead.err())
        .contains("tally db migrate: error: PostgreSQL at jdbc:postgresql://127.0.0.1:1/tally")
        .doesNotContain("\tat ");
    Run noFile =
        tally("db", "migrate", "--jdbc-url", schema.jdbcUrl(), "--roles-file", "no-such-roles.sql");
    assertThat(noFile.exitCode()).isEqualTo(2);
    assertThat(noFile.err()).contains("--roles-file no-such-roles.sql cannot be read");
  }

  private static void awaitVisible(KafkaBroker kafka, String prefix, String topic)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
    while (System.nanoTime() < deadline) {
      if (tally("topics", "describe", "-b", kafka.bootstrapServers(), "--topic-prefix", prefix)
          .out()
          .contains("REFUSED")) {
        return;
      }
      Thread.sleep(100);
    }
    throw new AssertionError(topic + " never became visible as compacted");
  }
}
