package dev.tally.cli;

import dev.tally.common.generator.GeneratedRecord;
import dev.tally.common.generator.GeneratorOptions;
import dev.tally.common.generator.LoadGenerator;
import dev.tally.common.generator.LoadRunner;
import dev.tally.common.kafka.EventProducer;
import java.io.BufferedOutputStream;
import java.io.DataOutputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code tally produce}: the deterministic load generator. */
@Command(
    name = "produce",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    description = {
      "Generate events and send them to the lane topics: heterogeneous events from skewed users and"
          + " hunts, with duplicates, out-of-order and late events and malformed records mixed in.",
      "The same seed and options give the same records, byte for byte (the clock is simulated).",
      "Progress (count, rate, ETA) goes to stderr; the summary of what was sent to stdout."
    })
final class ProduceCommand implements Callable<Integer> {

  @Spec CommandSpec spec;
  @Mixin KafkaOptions kafka;

  @Option(
      names = "--seed",
      defaultValue = "42",
      description = "Random seed (default: ${DEFAULT-VALUE}).")
  long seed;

  @Option(
      names = {"-n", "--events"},
      defaultValue = "100000",
      description = "Records to send in all, every kind counted (default: ${DEFAULT-VALUE}).")
  long records;

  @Option(
      names = "--rate",
      defaultValue = "0",
      description =
          "Records per second; 0 = as fast as the broker takes them (default: ${DEFAULT-VALUE}).")
  double rate;

  @Option(
      names = "--users",
      defaultValue = "10000",
      description = "Distinct users (default: ${DEFAULT-VALUE}).")
  int users;

  @Option(
      names = "--hunts",
      defaultValue = "100",
      description = "Distinct hunts (default: ${DEFAULT-VALUE}).")
  int hunts;

  @Option(
      names = "--user-skew",
      defaultValue = "1.1",
      description = "Zipf exponent of user popularity; 0 = uniform (default: ${DEFAULT-VALUE}).")
  double userSkew;

  @Option(
      names = "--hunt-skew",
      defaultValue = "1.1",
      description = "Zipf exponent of hunt popularity (default: ${DEFAULT-VALUE}).")
  double huntSkew;

  @Option(
      names = "--duplicates",
      defaultValue = "0.05",
      description =
          "Fraction of records re-sending an earlier event, same event_id (default: ${DEFAULT-VALUE}).")
  double duplicates;

  @Option(
      names = "--out-of-order",
      defaultValue = "0.05",
      description =
          "Fraction with occurred_at up to --max-out-of-order-ms behind (default: ${DEFAULT-VALUE}).")
  double outOfOrder;

  @Option(
      names = "--late",
      defaultValue = "0.01",
      description =
          "Fraction with occurred_at --min-lateness-ms..--max-lateness-ms behind (default: ${DEFAULT-VALUE}).")
  double late;

  @Option(
      names = "--malformed",
      defaultValue = "0.01",
      description =
          "Fraction of malformed records: random bytes, truncated Avro, unknown fingerprint (default: ${DEFAULT-VALUE}).")
  double malformed;

  @Option(
      names = "--max-out-of-order-ms",
      defaultValue = "5000",
      description = "Out-of-order bound (default: ${DEFAULT-VALUE}).")
  long maxOutOfOrderMs;

  @Option(
      names = "--min-lateness-ms",
      defaultValue = "120000",
      description = "Least lateness of late events (default: ${DEFAULT-VALUE}).")
  long minLatenessMs;

  @Option(
      names = "--max-lateness-ms",
      defaultValue = "600000",
      description = "Most lateness of late events (default: ${DEFAULT-VALUE}).")
  long maxLatenessMs;

  @Option(
      names = "--start",
      defaultValue = "2026-01-01T00:00:00Z",
      description =
          "Event time of the first record, ISO-8601, or 'now' (not reproducible) (default: ${DEFAULT-VALUE}).")
  String start;

  @Option(
      names = "--spacing-micros",
      defaultValue = "1000",
      description = "Event-time step between records, microseconds (default: ${DEFAULT-VALUE}).")
  long spacingMicros;

  @Option(
      names = "--producer-id",
      defaultValue = "tally-produce",
      description = "producer_id written into every event (default: ${DEFAULT-VALUE}).")
  String producerId;

  @Option(
      names = "--progress-seconds",
      defaultValue = "1",
      description = "Seconds between progress lines (default: ${DEFAULT-VALUE}).")
  double progressSeconds;

  @Option(
      names = "--delivery-timeout",
      defaultValue = "2min",
      description =
          "How long the producer keeps retrying a record (a broker down, a leader moving) before it"
              + " gives up on it: Kafka's delivery.timeout.ms (default: ${DEFAULT-VALUE}).")
  String deliveryTimeout;

  @Option(
      names = "--output",
      description =
          "Write the records to this file (topic, key, bytes) instead of Kafka: to compare runs byte for byte.")
  Path output;

  @Override
  public Integer call() throws Exception {
    GeneratorOptions options = options();
    LoadGenerator generator = new LoadGenerator(options);
    PrintWriter out = spec.commandLine().getOut();
    if (output != null) {
      writeToFile(generator);
      out.printf("wrote %,d records to %s%n", generator.summary().records(), output);
    } else {
      if (rate < 0) {
        throw new ParameterException(
            spec.commandLine(), "--rate must be >= 0 (0 = unthrottled), got " + rate);
      }
      // A missing or compacted lane topic is refused before anything is sent (a producer would
      // wait for a missing topic's metadata; compaction would drop events).
      List<String> topics = new java.util.ArrayList<>();
      for (dev.tally.common.events.Lane lane : dev.tally.common.events.Lane.values()) {
        topics.add(lane.topic(kafka.topicPrefix));
      }
      try (org.apache.kafka.clients.admin.Admin admin =
          org.apache.kafka.clients.admin.Admin.create(kafka.adminProperties())) {
        new dev.tally.common.kafka.TopicApplier(admin).requireUsable(topics);
      }
      Duration delivery = Durations.parse("--delivery-timeout", deliveryTimeout);
      if (delivery.toSeconds() < 1) {
        throw new ParameterException(
            spec.commandLine(), "--delivery-timeout must be at least 1s, got " + deliveryTimeout);
      }
      java.util.Properties overrides = kafka.securityProperties();
      overrides.put(
          org.apache.kafka.clients.producer.ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG,
          Long.toString(delivery.toMillis()));
      // The producer refuses a delivery timeout below linger + request timeout.
      overrides.putIfAbsent(
          org.apache.kafka.clients.producer.ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG,
          Long.toString(Math.min(30_000, Math.max(1, delivery.toMillis() - 5))));
      LoadRunner.Result result;
      try (EventProducer producer =
          new EventProducer(kafka.bootstrapServers(), kafka.topicPrefix, overrides)) {
        PrintStream progress = System.err;
        result =
            new LoadRunner(
                    generator,
                    producer,
                    rate,
                    progress,
                    Duration.ofMillis((long) (progressSeconds * 1000)))
                .run();
      } catch (EventProducer.EventProducerException e) {
        // Records the cluster did not acknowledge within the delivery timeout: one line, with
        // what was acknowledged, never a stack trace (the rest of the run was sent).
        throw new IllegalStateException(
            e.getMessage()
                + " (a record is retried for --delivery-timeout "
                + deliveryTimeout
                + " unless refused outright; every other record was acknowledged)",
            e);
      }
      out.printf(
          "sent %,d records in %.1f s (%,.0f records/s), all acknowledged by %s%n",
          result.acknowledged(),
          result.elapsed().toNanos() / 1e9,
          result.recordsPerSecond(),
          kafka.bootstrapServers);
    }
    out.print(generator.summary().render());
    out.flush();
    return 0;
  }

  private GeneratorOptions options() {
    Instant startAt;
    try {
      startAt = "now".equals(start) ? Instant.now() : Instant.parse(start);
    } catch (DateTimeParseException e) {
      throw new ParameterException(
          spec.commandLine(),
          "--start must be an ISO-8601 instant like 2026-01-01T00:00:00Z, or 'now'; got '"
              + start
              + "'");
    }
    try {
      return new GeneratorOptions(
          seed,
          records,
          users,
          hunts,
          userSkew,
          huntSkew,
          duplicates,
          outOfOrder,
          late,
          malformed,
          Duration.ofMillis(maxOutOfOrderMs),
          Duration.ofMillis(minLatenessMs),
          Duration.ofMillis(maxLatenessMs),
          startAt,
          Duration.ofNanos(spacingMicros * 1000),
          kafka.topicPrefix,
          producerId);
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), e.getMessage());
    }
  }

  private void writeToFile(LoadGenerator generator) throws IOException {
    try (DataOutputStream file =
        new DataOutputStream(new BufferedOutputStream(new FileOutputStream(output.toFile())))) {
      while (generator.hasNext()) {
        GeneratedRecord record = generator.next();
        file.writeUTF(record.topic());
        file.writeUTF(record.key());
        file.writeInt(record.value().length);
        file.write(record.value());
      }
    }
  }
}
