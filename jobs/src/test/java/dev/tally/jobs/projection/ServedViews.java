package dev.tally.jobs.projection;

import dev.tally.common.views.PostgresViewStore;
import dev.tally.common.views.ValkeyEndpoint;
import dev.tally.jobs.decode.DeadLetterSerializer;
import dev.tally.testing.KafkaBroker;
import io.valkey.UnifiedJedis;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/** Reads what the job wrote: every entry of a view in Valkey and PostgreSQL, the dead letters. */
final class ServedViews {

  private ServedViews() {}

  /** Asserts that every view, in Valkey and in PostgreSQL, equals the expected fold. */
  static void assertAllEqual(ProjectionTestSetup setup, ExpectedViews expected) throws Exception {
    for (Map.Entry<String, Map<String, Map<String, Long>>> view : expected.byView().entrySet()) {
      assertServedAsExpected(
          view.getKey() + " in Valkey",
          valkey(setup.valkey, setup.generation, view.getKey()),
          view.getValue());
      Map<String, Map<String, Long>> durable =
          postgres(setup.schema.jdbcUrl(), setup.generation, view.getKey());
      try {
        assertServedAsExpected(view.getKey() + " in PostgreSQL", durable, view.getValue());
      } catch (AssertionError differs) {
        // Which writer wrote what, at which version: what a flake's report needs to be traced.
        Set<String> keys = new TreeSet<>();
        for (String key : union(durable.keySet(), view.getValue().keySet())) {
          if (!Objects.equals(durable.get(key), view.getValue().get(key)) && keys.size() < 5) {
            keys.add(key);
          }
        }
        throw new AssertionError(
            differs.getMessage()
                + "\n rows of the first differing entries (entry, writer, version, partial):\n  "
                + String.join(
                    "\n  ",
                    partialRows(setup.schema.jdbcUrl(), setup.generation, view.getKey(), keys)),
            differs);
      }
    }
  }

  private static Set<String> union(Set<String> a, Set<String> b) {
    Set<String> all = new TreeSet<>(a);
    all.addAll(b);
    return all;
  }

  /** The stored partials of some entries of a view, one line per row. */
  static List<String> partialRows(String jdbcUrl, int generation, String view, Set<String> keys)
      throws Exception {
    List<String> rows = new ArrayList<>();
    try (Connection connection = DriverManager.getConnection(jdbcUrl, "tally", "");
        java.sql.PreparedStatement query =
            connection.prepareStatement(
                "SELECT entry_key, writer, version, partial FROM view_partial"
                    + " WHERE generation = ? AND view = ? AND entry_key = ANY (?)"
                    + " ORDER BY entry_key, writer")) {
      query.setInt(1, generation);
      query.setString(2, view);
      query.setArray(3, connection.createArrayOf("text", keys.toArray()));
      try (java.sql.ResultSet result = query.executeQuery()) {
        while (result.next()) {
          rows.add(
              result.getString(1)
                  + " | "
                  + result.getString(2)
                  + " | v"
                  + result.getLong(3)
                  + " | "
                  + result.getString(4));
        }
      }
    }
    return rows;
  }

  /** A view as one store serves it. */
  interface Read {
    Map<String, Map<String, Long>> get() throws Exception;
  }

  /** Polls until {@code served} equals {@code expected}, then asserts it (with the diff if not). */
  static void awaitEqual(
      String what, Read served, Map<String, Map<String, Long>> expected, Duration within)
      throws Exception {
    long deadline = System.nanoTime() + within.toNanos();
    Map<String, Map<String, Long>> latest = served.get();
    while (!latest.equals(expected) && System.nanoTime() < deadline) {
      Thread.sleep(250);
      latest = served.get();
    }
    assertServedAsExpected(what, latest, expected);
  }

  /**
   * Asserts that a served view equals the expected one; a failure names only the entries that
   * differ (missing, unexpected, or with other values), not the whole views.
   */
  static void assertServedAsExpected(
      String what, Map<String, Map<String, Long>> served, Map<String, Map<String, Long>> expected) {
    if (served.equals(expected)) {
      return;
    }
    List<String> differences = new ArrayList<>();
    Set<String> keys = new TreeSet<>(expected.keySet());
    keys.addAll(served.keySet());
    for (String key : keys) {
      Map<String, Long> want = expected.get(key);
      Map<String, Long> got = served.get(key);
      if (!Objects.equals(want, got)) {
        differences.add(key + ": expected " + want + ", served " + got);
      }
    }
    int shown = Math.min(differences.size(), 25);
    throw new AssertionError(
        what
            + ": "
            + differences.size()
            + " of "
            + keys.size()
            + " entries differ (served "
            + served.size()
            + ", expected "
            + expected.size()
            + ")"
            + (shown < differences.size() ? "; the first " + shown : "")
            + ":\n  "
            + String.join("\n  ", differences.subList(0, shown)));
  }

  /** Whether every view in Valkey equals the fold now. */
  static boolean valkeyEquals(ProjectionTestSetup setup, ExpectedViews expected) throws Exception {
    for (Map.Entry<String, Map<String, Map<String, Long>>> view : expected.byView().entrySet()) {
      if (!valkey(setup.valkey, setup.generation, view.getKey()).equals(view.getValue())) {
        return false;
      }
    }
    return true;
  }

  /** Waits until every view in Valkey equals the fold. */
  static void awaitValkey(ProjectionTestSetup setup, ExpectedViews expected, Duration within)
      throws Exception {
    for (Map.Entry<String, Map<String, Map<String, Long>>> view : expected.byView().entrySet()) {
      awaitEqual(
          view.getKey() + " in Valkey",
          () -> valkey(setup.valkey, setup.generation, view.getKey()),
          view.getValue(),
          within);
    }
  }

  /** Waits until one view in PostgreSQL equals {@code expected}. */
  static void awaitPostgres(
      ProjectionTestSetup setup,
      String view,
      Map<String, Map<String, Long>> expected,
      Duration within)
      throws Exception {
    awaitEqual(
        view + " in PostgreSQL",
        () -> postgres(setup.schema.jdbcUrl(), setup.generation, view),
        expected,
        within);
  }

  /** Every entry of a view and generation in Valkey: entry key → served fields (no _v, _w:). */
  static Map<String, Map<String, Long>> valkey(
      ValkeyEndpoint endpoint, int generation, String view) {
    Map<String, Map<String, Long>> entries = new TreeMap<>();
    String marker = ":g" + generation + ":" + view + ":";
    try (UnifiedJedis jedis = endpoint.connect()) {
      java.util.Set<String> keys = new java.util.TreeSet<>();
      dev.tally.common.views.ValkeyScan.keys(jedis, "tally:*" + marker + "*", keys::add);
      for (String key : keys) {
        String entryKey = key.substring(key.indexOf(marker) + marker.length());
        if (jedis.type(key).equals("hash")) {
          Map<String, Long> fields = new TreeMap<>();
          jedis
              .hgetAll(key)
              .forEach(
                  (field, value) -> {
                    if (!field.startsWith("_")) {
                      fields.put(field, Long.parseLong(value));
                    }
                  });
          entries.put(entryKey, fields);
        }
      }
    }
    return entries;
  }

  static Map<String, Map<String, Long>> postgres(String jdbcUrl, int generation, String view)
      throws Exception {
    try (Connection connection = DriverManager.getConnection(jdbcUrl, "tally", "")) {
      return PostgresViewStore.values(connection, generation, view);
    }
  }

  /**
   * The dead-letter topic: source coordinates → reason (a record dead-lettered twice counts once).
   */
  static Map<String, String> deadLetters(KafkaBroker kafka, String topic) {
    Properties props = kafka.clientProperties();
    props.put(ConsumerConfig.GROUP_ID_CONFIG, "verify-" + topic);
    props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    Map<String, String> letters = new HashMap<>();
    try (KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      consumer.subscribe(List.of(topic));
      long quietSince = System.nanoTime();
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      while (System.nanoTime() - quietSince < Duration.ofSeconds(3).toNanos()
          && System.nanoTime() < deadline) {
        for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
          quietSince = System.nanoTime();
          letters.put(
              ExpectedViews.coordinates(
                  header(record, DeadLetterSerializer.SOURCE_TOPIC),
                  Integer.parseInt(header(record, DeadLetterSerializer.SOURCE_PARTITION)),
                  Long.parseLong(header(record, DeadLetterSerializer.SOURCE_OFFSET))),
              header(record, DeadLetterSerializer.REASON));
        }
      }
    }
    return letters;
  }

  private static String header(ConsumerRecord<?, ?> record, String name) {
    Header header = record.headers().lastHeader(name);
    return header == null ? null : new String(header.value(), StandardCharsets.UTF_8);
  }
}
