package dev.tally.jobs.projection;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.entry;

import dev.tally.common.events.Lane;
import dev.tally.common.flink.PublishedOptions;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class ProjectionOptionsTest {

  private static final String[] REQUIRED = {
    "--bootstrap-servers", "kafka:9092", "--valkey", "redis://valkey:6379"
  };

  private static Optional<ProjectionConfig> parse(String... extra) {
    String[] args = new String[REQUIRED.length + extra.length];
    System.arraycopy(REQUIRED, 0, args, 0, REQUIRED.length);
    System.arraycopy(extra, 0, args, REQUIRED.length, extra.length);
    return ProjectionOptions.parse(args, new PrintWriter(new StringWriter()));
  }

  @Test
  void defaultsAreTheDocumentedOnes() {
    ProjectionConfig config = parse().orElseThrow();

    assertThat(config.sources().lanes()).containsExactly(Lane.P0, Lane.P1, Lane.P2);
    assertThat(config.sources().start()).isEqualTo("committed");
    assertThat(config.state().dedupHorizon()).isEqualTo(Duration.ofDays(7));
    assertThat(config.state().checkpointInterval()).isEqualTo(Duration.ofSeconds(60));
    assertThat(config.timing().allowedLateness()).isEqualTo(Duration.ofSeconds(60));
    assertThat(config.timing().maxEventLead()).isEqualTo(Duration.ofMinutes(1));
    assertThat(config.generation()).isEqualTo(1);
    assertThat(config.stores().jdbcUrl()).isNull();
    assertThat(config.stores().valkey().cluster()).isFalse();
    assertThat(config.sources().maxRecordsPerSecond()).isEmpty();
    assertThat(config.parallelism()).isZero();
  }

  @Test
  void theJobPublishesItsResolvedOptionsAndToolsReadThemBackWithoutDefaultsOfTheirOwn() {
    String[] args = {
      "--bootstrap-servers",
      "kafka:9092",
      "--valkey",
      "redis://ops:s3cret@valkey:6379",
      "--lanes",
      "p2,p0",
      "--topic-prefix",
      "test.",
      "--jdbc-url",
      "jdbc:postgresql://db/tally",
      "--kafka-property",
      "max.poll.records=500",
      "--kafka-property",
      "ssl.key.password=k3y"
    };
    ProjectionConfig config =
        ProjectionOptions.parse(args, new PrintWriter(new StringWriter())).orElseThrow();
    dev.tally.common.flink.JobArguments given =
        new dev.tally.common.flink.JobArguments(List.of(args));

    java.util.Map<String, String> parameters = config.published(3, given).toParameters();
    PublishedOptions read = PublishedOptions.fromParameters(parameters, "job-1");

    assertThat(read).isEqualTo(config.published(3, given));
    // Defaults applied by the job, read back by the tools as values.
    assertThat(read.groupId()).isEqualTo("tally-projection");
    assertThat(read.generation()).isEqualTo(1);
    assertThat(read.writer()).isEqualTo("live");
    assertThat(read.jdbcUser()).isEqualTo("tally");
    assertThat(read.checkpointInterval()).isEqualTo(Duration.ofSeconds(60));
    assertThat(read.parallelism()).isEqualTo(3);
    assertThat(read.topics()).containsExactly("test.events.p2", "test.events.p0");
    // The password is never published; the rest of the endpoint is.
    assertThat(parameters.values()).noneMatch(value -> value.contains("s3cret"));
    assertThat(parameters.values()).noneMatch(value -> value.contains("k3y"));
    assertThat(read.kafkaProperties())
        .as("the sources' properties, secrets left out")
        .containsEntry("max.poll.records", "500")
        .doesNotContainKey("ssl.key.password");
    assertThat(read.redacted())
        .as("what its published arguments redact: it cannot be restarted from them")
        .containsExactlyInAnyOrder("--valkey password", "ssl.key.password");
    assertThat(read.valkey("from-elsewhere"))
        .isEqualTo(
            dev.tally.common.views.ValkeyEndpoint.parse(
                "redis://ops@valkey:6379", false, "from-elsewhere"));
    assertThat(parameters).containsEntry("tally.option.group-id", "tally-projection");

    java.util.Map<String, String> older = new java.util.HashMap<>(parameters);
    older.remove("tally.option.generation");
    assertThatThrownBy(() -> PublishedOptions.fromParameters(older, "job-1"))
        .hasMessageContaining("job job-1 did not publish tally.option.generation")
        .hasMessageContaining("older Tally");
  }

  @Test
  void theIntervalBehindTheLogIsThreeLiveOnesAtLeastAMinuteAndNeverShorterThanTheLiveOne() {
    assertThat(parse().orElseThrow().state().checkpointIntervalBehind())
        .isEqualTo(Duration.ofMinutes(3));
    assertThat(
            parse("--checkpoint-interval", "5s").orElseThrow().state().checkpointIntervalBehind())
        .isEqualTo(Duration.ofMinutes(1));
    assertThat(
            parse("--checkpoint-interval", "10s", "--checkpoint-interval-behind", "45s")
                .orElseThrow()
                .state()
                .checkpointIntervalBehind())
        .isEqualTo(Duration.ofSeconds(45));
    assertThat(
            parse("--checkpoint-interval", "2min", "--checkpoint-interval-behind", "1min")
                .orElseThrow()
                .state()
                .checkpointIntervalBehind())
        .isEqualTo(Duration.ofMinutes(2));
    assertThatThrownBy(() -> parse("--checkpoint-interval-behind", "soon"))
        .hasMessageContaining("--checkpoint-interval-behind");
  }

  @Test
  void laneRateLimitsAreParsedPerLane() {
    ProjectionConfig config = parse("--max-records-per-second", "p2=5000,P1=20000").orElseThrow();

    assertThat(config.sources().maxRecordsPerSecond())
        .containsOnly(entry(Lane.P2, 5000), entry(Lane.P1, 20000));
    assertThatThrownBy(() -> parse("--max-records-per-second", "p3=10"))
        .hasMessageContaining("unknown lane 'p3'; accepted: p0, p1, p2");
    assertThatThrownBy(() -> parse("--max-records-per-second", "p2=0"))
        .hasMessageContaining("--max-records-per-second p2=0: a limit must be >= 1 record/s");
    assertThatThrownBy(() -> parse("--max-records-per-second", "p2"))
        .hasMessageContaining("--max-records-per-second");
    assertThatThrownBy(() -> parse("--parallelism", "129"))
        .hasMessageContaining("--parallelism must be between 0 (the cluster default) and 128");
  }

  @Test
  void kafkaPropertiesComeFromAFileWithInlineOnesOverItAndNoSecretIsPrinted() throws Exception {
    java.nio.file.Path file = java.nio.file.Files.createTempFile("kafka", ".properties");
    java.nio.file.Files.writeString(
        file,
        "security.protocol=SASL_SSL\n"
            + "sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required"
            + " username=\"u\" password=\"from-file\";\n"
            + "max.partition.fetch.bytes=1000\n");
    ProjectionConfig config =
        parse(
                "--kafka-properties-file",
                file.toString(),
                "--kafka-property",
                "max.partition.fetch.bytes=16384")
            .orElseThrow();

    assertThat(config.sources().kafkaProperties())
        .containsEntry("security.protocol", "SASL_SSL")
        .containsEntry("max.partition.fetch.bytes", "16384");
    assertThat(config.sources().kafkaProperties().get("sasl.jaas.config")).contains("from-file");
    assertThat(config.toString())
        .doesNotContain("from-file")
        .contains("sasl.jaas.config=<redacted>", "max.partition.fetch.bytes=16384");

    assertThatThrownBy(() -> parse("--kafka-properties-file", file + ".missing"))
        .hasMessageContaining("cannot read the Kafka properties file " + file + ".missing");
  }

  @Test
  void aJdbcUrlCarryingAPasswordIsRefusedForItIsPublished() {
    assertThatThrownBy(
            () -> parse("--jdbc-url", "jdbc:postgresql://db:5432/tally?ssl=true&password=hunter2"))
        .hasMessageContaining("--jdbc-url must not carry a secret (password)")
        .hasMessageContaining("--jdbc-password-file");
    assertThat(
            parse("--jdbc-url", "jdbc:postgresql://db:5432/tally?ssl=true")
                .orElseThrow()
                .stores()
                .jdbcUrl())
        .isEqualTo("jdbc:postgresql://db:5432/tally?ssl=true");
  }

  @Test
  void helpPrintsUsageAndStartsNoJob() {
    StringWriter out = new StringWriter();

    Optional<ProjectionConfig> config =
        ProjectionOptions.parse(new String[] {"--help"}, new PrintWriter(out));

    assertThat(config).isEmpty();
    assertThat(out.toString())
        .contains("Usage: projection-job", "--dedup-horizon", "--valkey", "TALLY_PG_PASSWORD");
  }

  @Test
  void badArgumentsSayWhatIsWrongAndWhatIsAccepted() {
    assertThatThrownBy(
            () ->
                ProjectionOptions.parse(
                    new String[] {"--valkey", "redis://v:1"}, new PrintWriter(new StringWriter())))
        .hasMessageContaining("Missing required option: '--bootstrap-servers")
        .hasMessageContaining("Usage: projection-job");
    assertThatThrownBy(() -> parse("--dedup-horizon", "a week"))
        .hasMessageContaining(
            "--dedup-horizon 'a week' is not a duration; use e.g. 500ms, 60s, 5min, 7d");
    assertThatThrownBy(() -> parse("--lanes", "p0,p7"))
        .hasMessage("unknown lane 'p7'; accepted: p0, p1, p2");
    assertThatThrownBy(() -> parse("--start", "yesterday"))
        .hasMessageContaining("--start 'yesterday'")
        .hasMessageContaining("accepted: earliest, latest, timestamp:")
        .hasMessageContaining("also accepted: committed");
    assertThatThrownBy(() -> parse("--stop", "earliest"))
        .hasMessageContaining("--stop earliest would read nothing");
    assertThatThrownBy(() -> parse("--stop", "timestamp:soon"))
        .hasMessageContaining("is not a time")
        .hasMessageContaining("also accepted: none");
    assertThatThrownBy(() -> parse("--source-id", "repair 1"))
        .hasMessageContaining("--source-id 'repair 1' may hold letters, digits");
    assertThatThrownBy(() -> parse("--points", "CHECKIN=ten"))
        .hasMessageContaining("points must be a whole number");
    assertThatThrownBy(
            () ->
                parse(
                    "--points",
                    "CHECKIN=2147483648,QR_SCAN=1,TASK_COMPLETED=1,DAILY_BONUS=1,PURCHASE=1"))
        .hasMessageContaining("from -2147483648 to 2147483647");
    assertThatThrownBy(() -> parse("--max-event-lead", "soon"))
        .hasMessageContaining("--max-event-lead 'soon' is not a duration");
    assertThatThrownBy(() -> parse("--generation", "0"))
        .hasMessageContaining("--generation must be >= 1, got 0");
  }
}
