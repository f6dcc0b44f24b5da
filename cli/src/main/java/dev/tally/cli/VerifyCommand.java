package dev.tally.cli;

import dev.tally.common.events.Lane;
import dev.tally.common.kafka.EventTopics;
import dev.tally.common.verify.LogFold;
import dev.tally.common.views.PostgresViewStore;
import dev.tally.common.views.ValkeyViewStore;
import dev.tally.common.views.ViewCatalog;
import dev.tally.common.views.ViewClient;
import dev.tally.common.views.ViewKeys;
import dev.tally.events.EventType;
import io.valkey.UnifiedJedis;
import java.io.PrintWriter;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code tally verify}: folds the log independently ({@link LogFold}) and compares the result with
 * what Valkey and PostgreSQL serve and what the dead-letter topic holds. Run it once the job has
 * caught up with the log (a live job keeps moving).
 */
@Command(
    name = "verify",
    mixinStandardHelpOptions = true,
    description =
        "Fold the lane topics independently with the job's rules and compare with the served views"
            + " (Valkey, PostgreSQL) and the dead-letter topic; exit 1 on any difference. Run it"
            + " when the job has caught up (tally lag --wait).")
final class VerifyCommand implements Callable<Integer> {

  @Spec CommandSpec spec;
  @picocli.CommandLine.Mixin KafkaOptions kafka;

  /** Differences over every store and view, for the summary line. */
  private static final class Totals {
    long lost; // missing entries and lower counts
    long doubled; // higher counts and entries the log does not explain
    long different; // the same count, other values
  }

  @picocli.CommandLine.Mixin ViewCommand.Stores stores;

  @Option(
      names = "--generation",
      description = "The generation to check (default: the one readers are served).")
  Integer generation;

  @Option(
      names = "--dedup-horizon",
      defaultValue = "7d",
      description = "As the job's (default: ${DEFAULT-VALUE}).")
  String horizon;

  @Option(
      names = "--max-out-of-orderness",
      defaultValue = "10s",
      description = "As the job's (default: ${DEFAULT-VALUE}).")
  String outOfOrderness;

  @Option(
      names = "--allowed-lateness",
      defaultValue = "60s",
      description = "As the job's (default: ${DEFAULT-VALUE}).")
  String lateness;

  @Option(
      names = "--max-event-lead",
      defaultValue = "1min",
      description = "As the job's (default: ${DEFAULT-VALUE}).")
  String lead;

  @Option(
      names = "--points",
      defaultValue = "CHECKIN=10,QR_SCAN=25,TASK_COMPLETED=50,DAILY_BONUS=100,PURCHASE=20",
      description = "As the job's rule table (default: ${DEFAULT-VALUE}).")
  String points;

  @Option(
      names = "--max-listed",
      defaultValue = "10",
      description = "Differences printed per view (default: ${DEFAULT-VALUE}).")
  int maxListed;

  @Override
  public Integer call() throws SQLException {
    PrintWriter out = spec.commandLine().getOut();
    LogFold.Rules rules =
        new LogFold.Rules(
            Durations.parse("--dedup-horizon", horizon),
            Durations.parse("--max-out-of-orderness", outOfOrderness),
            Durations.parse("--allowed-lateness", lateness),
            Durations.parse("--max-event-lead", lead),
            pointsTable());
    long started = System.nanoTime();
    LogFold.Result fold =
        LogFold.fold(
            kafka.bootstrapServers(),
            kafka.securityMap(),
            kafka.topicPrefix,
            List.of(Lane.values()),
            rules);
    int served;
    try (ViewClient client = stores.client()) {
      served = generation != null ? generation : client.generation();
    }
    out.printf(
        "log: %,d records, %,d counted, %,d duplicates, %,d dead letters expected (read in %.1f s);"
            + " checking generation %d%n",
        fold.records(),
        fold.counted(),
        fold.duplicates(),
        fold.deadLetters().size(),
        (System.nanoTime() - started) / 1e9,
        served);
    out.printf(
        "%-8s %-12s %10s %10s %8s %8s %8s %8s %9s%n",
        "store", "view", "expected", "served", "equal", "missing", "lower", "higher", "different");
    List<String> differences = new ArrayList<>();
    boolean clean = true;
    Totals totals = new Totals();
    Map<String, Map<String, Map<String, Long>>> valkey = valkeyViews(served);
    clean &= compare(out, "valkey", fold.views(), valkey, differences, totals);
    if (stores.jdbcUrl != null && !stores.jdbcUrl.isBlank()) {
      Map<String, Map<String, Map<String, Long>>> postgres = postgresViews(served);
      clean &= compare(out, "postgres", fold.views(), postgres, differences, totals);
    }
    Map<String, String> letters = deadLetters();
    long lettersMissing =
        fold.deadLetters().keySet().stream().filter(k -> !letters.containsKey(k)).count();
    long lettersExtra =
        letters.keySet().stream().filter(k -> !fold.deadLetters().containsKey(k)).count();
    long lettersWrongReason =
        fold.deadLetters().entrySet().stream()
            .filter(e -> letters.containsKey(e.getKey()))
            .filter(e -> !letters.get(e.getKey()).equals(e.getValue()))
            .count();
    out.printf(
        "dead letters: %,d expected, %,d in the topic, %,d missing, %,d unexpected, %,d with"
            + " another reason%n",
        fold.deadLetters().size(),
        letters.size(),
        lettersMissing,
        lettersExtra,
        lettersWrongReason);
    clean &= lettersMissing == 0 && lettersExtra == 0 && lettersWrongReason == 0;
    differences.stream().limit((long) maxListed * 6).forEach(line -> out.println("  " + line));
    // One line for scripts (make faults), key=value.
    out.printf(
        "summary records=%d counted=%d lost=%d double=%d different=%d deadletters=%d%n",
        fold.records(),
        fold.counted(),
        totals.lost,
        totals.doubled,
        totals.different,
        lettersMissing + lettersExtra + lettersWrongReason);
    out.println(clean ? "verify: views and dead letters equal the log" : "verify: DIFFERENCES");
    out.flush();
    return clean ? 0 : 1;
  }

  private boolean compare(
      PrintWriter out,
      String store,
      Map<String, Map<String, Map<String, Long>>> expected,
      Map<String, Map<String, Map<String, Long>>> served,
      List<String> differences,
      Totals totals) {
    boolean clean = true;
    for (Map.Entry<String, Map<String, Map<String, Long>>> view : expected.entrySet()) {
      Map<String, Map<String, Long>> got = served.getOrDefault(view.getKey(), Map.of());
      long equal = 0;
      long missing = 0;
      long lower = 0;
      long higher = 0;
      long different = 0;
      int listed = 0;
      String sumField = ViewCatalog.byId(view.getKey()).countField();
      for (Map.Entry<String, Map<String, Long>> entry : view.getValue().entrySet()) {
        Map<String, Long> value = got.get(entry.getKey());
        if (entry.getValue().equals(value)) {
          equal++;
          continue;
        }
        long servedCount = value == null ? 0 : value.getOrDefault(sumField, 0L);
        long expectedCount = entry.getValue().getOrDefault(sumField, 0L);
        if (value == null) {
          missing++;
        } else if (servedCount < expectedCount) {
          lower++; // events lost
        } else if (servedCount > expectedCount) {
          higher++; // events counted twice
        } else {
          different++;
        }
        if (listed++ < maxListed) {
          differences.add(
              store
                  + " "
                  + view.getKey()
                  + " "
                  + entry.getKey()
                  + ": expected "
                  + entry.getValue()
                  + ", served "
                  + value);
        }
      }
      long unexpected = got.keySet().stream().filter(k -> !view.getValue().containsKey(k)).count();
      higher += unexpected;
      out.printf(
          "%-8s %-12s %,10d %,10d %,8d %,8d %,8d %,8d %,9d%n",
          store,
          view.getKey(),
          view.getValue().size(),
          got.size(),
          equal,
          missing,
          lower,
          higher,
          different);
      totals.lost += missing + lower;
      totals.doubled += higher;
      totals.different += different;
      clean &= missing == 0 && lower == 0 && higher == 0 && different == 0;
    }
    return clean;
  }

  private Map<EventType, Long> pointsTable() {
    Map<EventType, Long> table = new EnumMap<>(EventType.class);
    for (String rule : points.split(",")) {
      String[] parts = rule.trim().split("=");
      try {
        table.put(EventType.valueOf(parts[0].trim()), Long.parseLong(parts[1].trim()));
      } catch (RuntimeException e) {
        throw new IllegalArgumentException(
            "--points rule '" + rule + "' is not TYPE=points, e.g. CHECKIN=10");
      }
    }
    return table;
  }

  /** Every served entry of a generation in Valkey, by view. */
  private Map<String, Map<String, Map<String, Long>>> valkeyViews(int generation) {
    Map<String, Map<String, Map<String, Long>>> views = new TreeMap<>();
    try (UnifiedJedis jedis = stores.endpoint().connect()) {
      java.util.Set<String> keys = new java.util.TreeSet<>();
      dev.tally.common.views.ValkeyScan.keys(jedis, ViewKeys.scanPattern(generation), keys::add);
      for (String key : keys) {
        ViewKeys.Key parsed = ViewKeys.parse(key);
        if (parsed.kind() != ViewKeys.Kind.ENTRY) {
          continue;
        }
        String view = parsed.view();
        Map<String, Long> fields = new TreeMap<>();
        ValkeyViewStore.served(jedis.hgetAll(key))
            .forEach(
                (field, value) -> {
                  if (!field.startsWith("_")) {
                    fields.put(field, Long.parseLong(value));
                  }
                });
        views.computeIfAbsent(view, v -> new TreeMap<>()).put(parsed.name(), fields);
      }
    }
    return views;
  }

  private Map<String, Map<String, Map<String, Long>>> postgresViews(int generation)
      throws SQLException {
    Map<String, Map<String, Map<String, Long>>> views = new TreeMap<>();
    try (Connection connection =
        DriverManager.getConnection(
            stores.jdbcUrl,
            stores.jdbcUser,
            System.getenv(dev.tally.common.Environment.PG_PASSWORD))) {
      for (String view : ViewCatalog.ids()) {
        views.put(view, PostgresViewStore.values(connection, generation, view));
      }
    }
    return views;
  }

  /** The dead-letter topic: coordinates → reason (at-least-once: the last copy wins). */
  private Map<String, String> deadLetters() {
    String topic = EventTopics.deadLetter(kafka.topicPrefix);
    Properties properties = kafka.securityProperties();
    properties.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
    properties.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    Map<String, String> letters = new HashMap<>();
    try (KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(properties, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      List<TopicPartition> partitions = new ArrayList<>();
      consumer
          .partitionsFor(topic, Duration.ofSeconds(30))
          .forEach(info -> partitions.add(new TopicPartition(topic, info.partition())));
      Map<TopicPartition, Long> ends = consumer.endOffsets(partitions);
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      while (partitions.stream().anyMatch(tp -> consumer.position(tp) < ends.get(tp))) {
        for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(500))) {
          letters.put(
              header(record, "tally.source.topic")
                  + "/"
                  + header(record, "tally.source.partition")
                  + "/"
                  + header(record, "tally.source.offset"),
              header(record, "tally.reason"));
        }
      }
    }
    return letters;
  }

  private static String header(ConsumerRecord<?, ?> record, String name) {
    Header header = record.headers().lastHeader(name);
    return header == null
        ? null
        : new String(header.value(), java.nio.charset.StandardCharsets.UTF_8);
  }
}
