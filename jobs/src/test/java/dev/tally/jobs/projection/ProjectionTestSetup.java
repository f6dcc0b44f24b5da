package dev.tally.jobs.projection;

import dev.tally.common.events.Lane;
import dev.tally.common.generator.GeneratorOptions;
import dev.tally.common.kafka.EventTopics;
import dev.tally.common.kafka.TopicApplier;
import dev.tally.common.views.PostgresViewStore;
import dev.tally.common.views.ValkeyEndpoint;
import dev.tally.jobs.decode.SourceRecord;
import dev.tally.jobs.views.PointsRules;
import dev.tally.testing.KafkaBroker;
import dev.tally.testing.PostgresServer;
import dev.tally.testing.ValkeyServer;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.flink.api.connector.source.Source;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/**
 * One projection test's world: its own topics (prefix), Valkey generation and PostgreSQL schema on
 * the shared servers, and the job configuration the tests run with.
 */
final class ProjectionTestSetup {

  private static final AtomicInteger GENERATIONS = new AtomicInteger(10);

  static final Instant T0 = GeneratorOptions.DEFAULT_START;

  /**
   * On-time events first, enough for every partition to fill several consumer fetches before
   * anything late arrives: until each partition has shown its event time, the watermark is
   * undefined and nothing can be judged late.
   */
  static final int WARM_UP_RECORDS = 20_000;

  /** The job tolerates 30 s after a minute ends; the generator's late events are 20–60 min late. */
  static final Duration ALLOWED_LATENESS = Duration.ofSeconds(30);

  final String prefix;
  final int generation;
  final PostgresServer.Schema schema;
  final ValkeyEndpoint valkey;
  final ProjectionConfig config;

  ProjectionTestSetup(
      String name,
      KafkaBroker kafka,
      ValkeyServer valkeyServer,
      PostgresServer postgres,
      Duration checkpointInterval) {
    this(name, kafka, valkeyServer, postgres, checkpointInterval, checkpointInterval);
  }

  /** As above, checkpointing every {@code checkpointIntervalBehind} while a lane is behind. */
  ProjectionTestSetup(
      String name,
      KafkaBroker kafka,
      ValkeyServer valkeyServer,
      PostgresServer postgres,
      Duration checkpointInterval,
      Duration checkpointIntervalBehind) {
    this(
        name,
        kafka,
        (short) 1,
        ValkeyEndpoint.parse(valkeyServer.uri(), false, null)
            .withCaFile(
                valkeyServer.caCertificate() == null
                    ? null
                    : valkeyServer.caCertificate().toString()),
        postgres,
        checkpointInterval,
        checkpointIntervalBehind);
  }

  /**
   * The general form: topics replicated {@code replication} times, Valkey at {@code valkey} (one
   * node or a cluster).
   */
  ProjectionTestSetup(
      String name,
      KafkaBroker kafka,
      short replication,
      ValkeyEndpoint valkey,
      PostgresServer postgres,
      Duration checkpointInterval,
      Duration checkpointIntervalBehind) {
    prefix = kafka.uniqueTopicName(name) + ".";
    generation = GENERATIONS.incrementAndGet();
    new TopicApplier(kafka.admin()).apply(EventTopics.specs(prefix, replication, 0));
    schema = postgres.newSchema(name);
    PostgresViewStore.migrate(schema.jdbcUrl(), schema.user(), schema.password());
    this.valkey = valkey;
    this.bootstrapServers = kafka.bootstrapServers();
    this.kafkaSecurity = new java.util.TreeMap<>();
    kafka.securityProperties().forEach((k, v) -> kafkaSecurity.put((String) k, (String) v));
    this.checkpointInterval = checkpointInterval;
    this.checkpointIntervalBehind = checkpointIntervalBehind;
    config = variant(generation, "projection-" + prefix, 2, Duration.ofDays(7));
  }

  private final String bootstrapServers;
  private final Map<String, String> kafkaSecurity;
  private final Duration checkpointInterval;
  private final Duration checkpointIntervalBehind;

  /**
   * This test's job configuration with its own generation, consumer group, parallelism and dedup
   * horizon (from earliest, unbounded; the caller bounds the sources).
   */
  ProjectionConfig variant(int generation, String groupId, int parallelism, Duration horizon) {
    return new ProjectionConfig(
        new ProjectionConfig.Sources(
            bootstrapServers,
            prefix,
            // Small fetches interleave the partitions finely, as a live job sees them; with 1 MB
            // fetches one partition's thousands of records pass before another shows its time.
            kafkaProperties(),
            null,
            List.of(Lane.values()),
            groupId,
            "earliest",
            "none",
            "",
            Map.of()),
        new ProjectionConfig.State(
            horizon, Duration.ofDays(1), checkpointInterval, checkpointIntervalBehind, null),
        new ProjectionConfig.Timing(
            Duration.ofSeconds(2),
            ALLOWED_LATENESS,
            Duration.ofHours(1),
            4096,
            Duration.ofMillis(5),
            Duration.ofMillis(5)),
        new ProjectionConfig.Stores(
            valkey,
            2000,
            Duration.ofMillis(5),
            10,
            schema.jdbcUrl(),
            schema.user(),
            schema.password(),
            5000,
            Duration.ofMillis(500),
            5,
            false),
        generation,
        "live",
        PointsRules.defaults(),
        parallelism);
  }

  private Map<String, String> kafkaProperties() {
    Map<String, String> properties = new java.util.TreeMap<>(kafkaSecurity);
    properties.put("max.partition.fetch.bytes", "16384");
    return properties;
  }

  /** Every lane's Kafka source from earliest, bounded at {@code stop} (null: unbounded). */
  static Map<Lane, Source<SourceRecord, ?, ?>> sources(
      ProjectionConfig config, OffsetsInitializer stop) {
    Map<Lane, Source<SourceRecord, ?, ?>> sources = new java.util.LinkedHashMap<>();
    for (Lane lane : config.sources().lanes()) {
      sources.put(
          lane, ProjectionJob.kafkaSource(config, lane, OffsetsInitializer.earliest(), stop));
    }
    return sources;
  }

  /**
   * A fresh environment holding the whole job for {@code config} with the real sinks, its sources
   * from earliest and bounded at {@code stop} (null: unbounded).
   */
  static StreamExecutionEnvironment job(ProjectionConfig config, OffsetsInitializer stop) {
    return job(config, stop, new Configuration());
  }

  /** The same, on an environment with {@code flink} settings (e.g. a restart strategy). */
  static StreamExecutionEnvironment job(
      ProjectionConfig config, OffsetsInitializer stop, Configuration flink) {
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(flink);
    ProjectionJob.build(env, sources(config, stop), ProjectionJob.productionSinks(config), config);
    return env;
  }

  /** A generation no other test of this JVM uses. */
  static int nextGeneration() {
    return GENERATIONS.incrementAndGet();
  }

  /** On-time events only: every partition has data before anything late arrives. */
  GeneratorOptions warmUp() {
    return GeneratorOptions.defaults()
        .withSeed(1)
        .withRecords(WARM_UP_RECORDS)
        .withTopicPrefix(prefix)
        .withFractions(0, 0, 0, 0);
  }

  /** The main load, its clock continuing where the warm-up's stopped. */
  GeneratorOptions load(
      long records, double duplicates, double outOfOrder, double late, double malformed) {
    return loadAfter(WARM_UP_RECORDS, 2, records, duplicates, outOfOrder, late, malformed);
  }

  /**
   * A load whose clock starts after {@code before} records of the generator's spacing (the warm-up
   * and earlier loads), with its own seed: its event ids differ from every other load's.
   */
  GeneratorOptions loadAfter(
      long before,
      long seed,
      long records,
      double duplicates,
      double outOfOrder,
      double late,
      double malformed) {
    GeneratorOptions base =
        GeneratorOptions.defaults()
            .withSeed(seed)
            .withRecords(records)
            .withTopicPrefix(prefix)
            .withFractions(duplicates, outOfOrder, late, malformed);
    return new GeneratorOptions(
        base.seed(),
        base.records(),
        base.users(),
        base.hunts(),
        base.userSkew(),
        base.huntSkew(),
        base.duplicates(),
        base.outOfOrder(),
        base.late(),
        base.malformed(),
        Duration.ofSeconds(5),
        // Late by more than the whole run spans: whatever partition or subtask runs ahead in a
        // catch-up, the watermark is past these minutes once it exists at all.
        Duration.ofMinutes(20),
        Duration.ofMinutes(60),
        T0.plus(base.spacing().multipliedBy(before)),
        base.spacing(),
        prefix,
        "test-producer");
  }

  /** The independent fold behind {@code tally verify} of this test's log, with the job's rules. */
  dev.tally.common.verify.LogFold.Result foldTheLog() {
    return dev.tally.common.verify.LogFold.fold(
        bootstrapServers,
        kafkaSecurity,
        prefix,
        List.of(Lane.values()),
        new dev.tally.common.verify.LogFold.Rules(
            config.state().dedupHorizon(),
            config.timing().maxOutOfOrderness(),
            config.timing().allowedLateness(),
            config.timing().maxEventLead(),
            ExpectedViews.POINTS));
  }

  String deadLetterTopic() {
    return EventTopics.deadLetter(prefix);
  }
}
