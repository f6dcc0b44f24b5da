package dev.tally.bench;

import dev.tally.common.generator.GeneratorOptions;
import dev.tally.common.generator.LoadGenerator;
import dev.tally.common.generator.LoadRunner;
import dev.tally.common.kafka.EventProducer;
import dev.tally.common.views.ViewKeys;
import dev.tally.events.CheckIn;
import dev.tally.events.Event;
import dev.tally.events.EventType;
import io.valkey.Jedis;
import io.valkey.Pipeline;
import io.valkey.Response;
import java.io.PrintStream;
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
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * End-to-end latency at a fixed producer rate, two ways:
 *
 * <ul>
 *   <li><b>outside reader</b>: a probe event (its own user) every 10 ms; a reader polls Valkey
 *       every millisecond for the probe's {@code user_score} entry. Latency = when the reader first
 *       sees it − the probe's Kafka append time (the broker's clock, {@code LogAppendTime}). Both
 *       clocks are this machine's.
 *   <li><b>the job's histogram</b> ({@code endToEndLatencyMs}): the sink writer's clock when Valkey
 *       acknowledged a batch − the Kafka append time of the update's event.
 * </ul>
 */
final class LatencyRun {

  static final Duration PROBE_EVERY = Duration.ofMillis(10);

  record Result(
      int targetRate,
      int seconds,
      long sent,
      double achievedRate,
      int probes,
      int probesSeen,
      Map<String, Double> outsideMs,
      Map<String, Double> sinkMs) {}

  private final String bootstrapServers;
  private final String valkeyUri;
  private final int generation;
  private final JobWatch watch;
  private final PrintStream log;

  LatencyRun(
      String bootstrapServers, String valkeyUri, int generation, JobWatch watch, PrintStream log) {
    this.bootstrapServers = bootstrapServers;
    this.valkeyUri = valkeyUri;
    this.generation = generation;
    this.watch = watch;
    this.log = log;
  }

  Result run(int rate, int seconds, int users, int hunts, Duration drain) throws Exception {
    Instant start = Instant.now();
    GeneratorOptions options =
        new GeneratorOptions(
            1000L + rate,
            // More than the run can send: the load stops at the wall-time limit.
            (long) rate * seconds * 2,
            users,
            hunts,
            1.1,
            1.1,
            0.02,
            0.02,
            0,
            0,
            Duration.ofSeconds(5),
            Duration.ofMinutes(2),
            Duration.ofMinutes(10),
            start,
            Duration.ofNanos(1_000_000_000L / rate),
            "",
            "tally-bench");
    String runId = Long.toString(System.currentTimeMillis(), 36);
    Map<String, Long> appended = new ConcurrentHashMap<>();
    Map<String, Long> seen = new ConcurrentHashMap<>();
    ConcurrentLinkedQueue<String> pending = new ConcurrentLinkedQueue<>();
    AtomicBoolean loadDone = new AtomicBoolean();
    java.util.concurrent.atomic.AtomicLong sentCount = new java.util.concurrent.atomic.AtomicLong();
    List<Map<String, Double>> sinkSamples = new ArrayList<>();

    Properties probeOverrides = new Properties();
    probeOverrides.put("linger.ms", "0");
    try (EventProducer load = new EventProducer(bootstrapServers, "", new Properties());
        EventProducer probes = new EventProducer(bootstrapServers, "", probeOverrides);
        Jedis reader = new Jedis(java.net.URI.create(valkeyUri))) {
      Thread loadThread =
          new Thread(
              () -> {
                try {
                  sentCount.set(
                      new LoadRunner(
                              new LoadGenerator(options),
                              load,
                              rate,
                              new PrintStream(PrintStream.nullOutputStream()),
                              Duration.ofSeconds(10))
                          .run(Duration.ofSeconds(seconds))
                          .summary()
                          .records());
                } catch (InterruptedException e) {
                  Thread.currentThread().interrupt();
                } finally {
                  loadDone.set(true);
                }
              },
              "bench-load");
      long loadStart = System.nanoTime();
      loadThread.start();

      int probeCount = 0;
      long nextProbe = System.nanoTime();
      long nextSample = System.nanoTime() + Duration.ofSeconds(5).toNanos();
      long drainUntil = Long.MAX_VALUE;
      while (true) {
        long now = System.nanoTime();
        if (!loadDone.get() && now >= nextProbe) {
          String user = "probe-" + runId + "-" + probeCount++;
          Instant at = Instant.now();
          Event probe =
              new Event(
                  UUID.randomUUID().toString(),
                  EventType.CHECKIN,
                  user,
                  null,
                  at,
                  "tally-bench-probe",
                  new CheckIn("place-probe", null));
          pending.add(user);
          probes.send(probe).thenAccept(metadata -> appended.put(user, metadata.timestamp()));
          nextProbe += PROBE_EVERY.toNanos();
        }
        if (!pending.isEmpty()) {
          // One round trip for every pending probe: asked one by one, a backlog of probes would
          // slow the loop and with it the probes' own cadence.
          List<String> waiting = new ArrayList<>(pending);
          List<Response<Boolean>> found = new ArrayList<>(waiting.size());
          try (Pipeline pipe = reader.pipelined()) {
            for (String user : waiting) {
              found.add(pipe.exists(ViewKeys.entry(generation, "user_score", user)));
            }
            pipe.sync();
          }
          long at = System.currentTimeMillis();
          for (int i = 0; i < waiting.size(); i++) {
            if (found.get(i).get()) {
              seen.put(waiting.get(i), at);
              pending.remove(waiting.get(i));
            }
          }
        }
        if (now >= nextSample && !loadDone.get()) {
          sinkSamples.add(watch.sinkLatency());
          nextSample += Duration.ofSeconds(5).toNanos();
        }
        if (loadDone.get() && drainUntil == Long.MAX_VALUE) {
          drainUntil = now + drain.toNanos();
          probes.flush();
        }
        if (now > drainUntil || (loadDone.get() && pending.isEmpty())) {
          break;
        }
        Thread.sleep(1);
      }
      loadThread.join();
      double loadSeconds = (System.nanoTime() - loadStart) / 1e9;
      long sent = sentCount.get();
      long[] latencies = new long[probeCount];
      int seenCount = 0;
      for (int i = 0; i < probeCount; i++) {
        String user = "probe-" + runId + "-" + i;
        Long a = appended.get(user);
        Long s = seen.get(user);
        if (a != null && s != null) {
          latencies[i] = Math.max(0, s - a);
          seenCount++;
        } else {
          latencies[i] = Long.MAX_VALUE; // not seen before the drain ended
        }
      }
      Arrays.sort(latencies);
      Map<String, Double> outside = new LinkedHashMap<>();
      outside.put("p50", percentile(latencies, 0.50));
      outside.put("p95", percentile(latencies, 0.95));
      outside.put("p99", percentile(latencies, 0.99));
      outside.put("p999", percentile(latencies, 0.999));
      outside.put("max", percentile(latencies, 1.0));
      Map<String, Double> sink = new LinkedHashMap<>();
      // Skip the first sample: its windows still hold the job's start.
      for (Map<String, Double> sample :
          sinkSamples.subList(Math.min(1, sinkSamples.size()), sinkSamples.size())) {
        sample.forEach(
            (p, v) -> {
              if (!v.isNaN()) {
                sink.merge(p, v, Math::max);
              }
            });
      }
      log.printf(
          "  %,d events/s for %d s: %,d sent in %.1f s; probes seen %d/%d; outside p99 %s ms; sink p99 %s ms%n",
          rate,
          seconds,
          sent,
          loadSeconds,
          seenCount,
          probeCount,
          format(outside.get("p99")),
          format(sink.get("p99")));
      return new Result(
          rate, seconds, sent, sent / loadSeconds, probeCount, seenCount, outside, sink);
    }
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

  static String format(Double value) {
    return value == null || value.isNaN() ? "n/a" : String.format("%.0f", value);
  }
}
