package dev.tally.bench;

import dev.tally.common.generator.GeneratorOptions;
import dev.tally.common.generator.LoadGenerator;
import dev.tally.common.generator.LoadRunner;
import dev.tally.common.kafka.EventProducer;
import java.io.PrintStream;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

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
    AtomicBoolean loadDone = new AtomicBoolean();
    AtomicLong sentCount = new AtomicLong();
    List<Map<String, Double>> sinkSamples = new ArrayList<>();

    try (EventProducer load = new EventProducer(bootstrapServers, "", new Properties());
        Probes probes =
            new Probes(bootstrapServers, valkeyUri, generation, "r" + rate, PROBE_EVERY)) {
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

      long nextSample = System.nanoTime() + Duration.ofSeconds(5).toNanos();
      long drainUntil = Long.MAX_VALUE;
      while (true) {
        long now = System.nanoTime();
        if (!loadDone.get()) {
          probes.sendIfDue();
        }
        probes.poll();
        if (now >= nextSample && !loadDone.get()) {
          sinkSamples.add(watch.sinkLatency());
          nextSample += Duration.ofSeconds(5).toNanos();
        }
        if (loadDone.get() && drainUntil == Long.MAX_VALUE) {
          drainUntil = now + drain.toNanos();
          probes.flush();
        }
        if (now > drainUntil || (loadDone.get() && probes.allSeen())) {
          break;
        }
        Thread.sleep(1);
      }
      loadThread.join();
      double loadSeconds = (System.nanoTime() - loadStart) / 1e9;
      long sent = sentCount.get();
      Map<String, Double> outside = probes.percentiles();
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
          probes.seenCount(),
          probes.sent(),
          format(outside.get("p99")),
          format(sink.get("p99")));
      return new Result(
          rate,
          seconds,
          sent,
          sent / loadSeconds,
          probes.sent(),
          probes.seenCount(),
          outside,
          sink);
    }
  }

  static String format(Double value) {
    return value == null || value.isNaN() ? "n/a" : String.format("%.0f", value);
  }
}
