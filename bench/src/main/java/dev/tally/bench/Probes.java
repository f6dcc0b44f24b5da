package dev.tally.bench;

import dev.tally.common.kafka.EventProducer;
import dev.tally.common.views.ViewCatalog;
import dev.tally.common.views.ViewKeys;
import dev.tally.events.CheckIn;
import dev.tally.events.Event;
import dev.tally.events.EventType;
import io.valkey.Jedis;
import io.valkey.Pipeline;
import io.valkey.Response;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Probe events and the outside reader that waits for them: a check-in (lane p0) of a user of its
 * own every {@code every}; the reader asks Valkey for every pending probe's {@code user_score}
 * entry in one pipelined round trip per {@link #poll}. A probe's latency = when the reader first
 * saw its entry − its Kafka append time (the broker's clock, {@code LogAppendTime}); both clocks
 * are this machine's. Not thread-safe: one loop drives {@link #sendIfDue} and {@link #poll}.
 */
final class Probes implements AutoCloseable {

  private final EventProducer producer;
  private final Jedis reader;
  private final int generation;
  private final String prefix;
  private final long everyNanos;
  private final Map<String, Long> appended = new ConcurrentHashMap<>();
  private final Map<String, Long> seen = new LinkedHashMap<>();
  private final List<String> pending = new ArrayList<>();
  private int sent;
  private long next = System.nanoTime();

  Probes(String bootstrapServers, String valkeyUri, int generation, String name, Duration every) {
    Properties overrides = new Properties();
    overrides.put("linger.ms", "0");
    this.producer = new EventProducer(bootstrapServers, "", overrides);
    this.reader = new Jedis(java.net.URI.create(valkeyUri));
    this.generation = generation;
    this.prefix = "probe-" + name + "-" + Long.toString(System.currentTimeMillis(), 36) + "-";
    this.everyNanos = every.toNanos();
  }

  /** Sends the next probe when it is due. */
  void sendIfDue() {
    if (System.nanoTime() < next) {
      return;
    }
    String user = prefix + sent++;
    Event probe =
        new Event(
            UUID.randomUUID().toString(),
            EventType.CHECKIN,
            user,
            null,
            Instant.now(),
            "tally-bench-probe",
            new CheckIn("place-probe", null));
    pending.add(user);
    producer.send(probe).thenAccept(metadata -> appended.put(user, metadata.timestamp()));
    next += everyNanos;
  }

  /** Looks up every pending probe once. */
  void poll() {
    if (pending.isEmpty()) {
      return;
    }
    // One round trip for them all: asked one by one, a backlog of probes would slow this loop and
    // with it the probes' own cadence.
    List<Response<Boolean>> found = new ArrayList<>(pending.size());
    try (Pipeline pipe = reader.pipelined()) {
      for (String user : pending) {
        found.add(pipe.exists(ViewKeys.entry(generation, ViewCatalog.USER_SCORE.id(), user)));
      }
      pipe.sync();
    }
    long at = System.currentTimeMillis();
    List<String> still = new ArrayList<>();
    for (int i = 0; i < pending.size(); i++) {
      if (found.get(i).get()) {
        seen.put(pending.get(i), at);
      } else {
        still.add(pending.get(i));
      }
    }
    pending.clear();
    pending.addAll(still);
  }

  boolean allSeen() {
    return pending.isEmpty();
  }

  void flush() {
    producer.flush();
  }

  int sent() {
    return sent;
  }

  int seenCount() {
    return seen.size();
  }

  /** p50 … max in ms over every probe sent; NaN for a rank whose probe was never seen. */
  Map<String, Double> percentiles() {
    long[] latencies = new long[sent];
    for (int i = 0; i < sent; i++) {
      Long a = appended.get(prefix + i);
      Long s = seen.get(prefix + i);
      latencies[i] = a != null && s != null ? Math.max(0, s - a) : Long.MAX_VALUE;
    }
    Arrays.sort(latencies);
    Map<String, Double> out = new LinkedHashMap<>();
    out.put("p50", percentile(latencies, 0.50));
    out.put("p95", percentile(latencies, 0.95));
    out.put("p99", percentile(latencies, 0.99));
    out.put("p999", percentile(latencies, 0.999));
    out.put("max", percentile(latencies, 1.0));
    return out;
  }

  /** Nearest-rank percentile; NaN when that rank was never seen (reported as "not reached"). */
  static double percentile(long[] sorted, double q) {
    if (sorted.length == 0) {
      return Double.NaN;
    }
    int rank = (int) Math.ceil(q * sorted.length) - 1;
    long value = sorted[Math.max(0, Math.min(sorted.length - 1, rank))];
    return value == Long.MAX_VALUE ? Double.NaN : value;
  }

  @Override
  public void close() {
    producer.close();
    reader.close();
  }
}
