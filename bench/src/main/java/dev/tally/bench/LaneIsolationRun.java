package dev.tally.bench;

import dev.tally.common.kafka.EventProducer;
import dev.tally.common.views.ViewCatalog;
import dev.tally.common.views.ViewKeys;
import dev.tally.events.DailyBonus;
import dev.tally.events.Event;
import dev.tally.events.EventType;
import io.valkey.Jedis;
import java.io.PrintStream;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;

/**
 * Does a p2 backlog delay p0? Probes (check-ins, lane p0, every 10 ms) against the live job, first
 * with nothing else arriving ("alone"), then while a backlog of daily bonuses (lane p2), produced
 * as fast as the producer goes, drains: from its first record until the job has written its last (a
 * marker user at the end of the backlog shows up in Valkey). Reports p0's latency both ways and how
 * fast the backlog drained.
 */
final class LaneIsolationRun {

  record Result(
      int aloneSeconds,
      Map<String, Double> aloneMs,
      long backlog,
      double produceSeconds,
      double drainSeconds,
      Map<String, Double> duringMs,
      int probesDuring) {

    Map<String, Object> toMap() {
      Map<String, Object> map = new LinkedHashMap<>();
      map.put("aloneSeconds", aloneSeconds);
      map.put("p0AloneMs", aloneMs);
      map.put("p2Backlog", backlog);
      map.put("p2ProduceSeconds", produceSeconds);
      map.put("p2DrainSeconds", drainSeconds);
      map.put("p2DrainEventsPerSecond", backlog / drainSeconds);
      map.put("p0DuringDrainMs", duringMs);
      map.put("probesDuringDrain", probesDuring);
      return map;
    }
  }

  private final String bootstrapServers;
  private final String valkeyUri;
  private final int generation;
  private final PrintStream log;

  LaneIsolationRun(String bootstrapServers, String valkeyUri, int generation, PrintStream log) {
    this.bootstrapServers = bootstrapServers;
    this.valkeyUri = valkeyUri;
    this.generation = generation;
    this.log = log;
  }

  Result run(int aloneSeconds, long backlog, int users, Duration timeout) throws Exception {
    Map<String, Double> alone;
    try (Probes probes =
        new Probes(bootstrapServers, valkeyUri, generation, "alone", LatencyRun.PROBE_EVERY)) {
      long until = System.nanoTime() + Duration.ofSeconds(aloneSeconds).toNanos();
      while (System.nanoTime() < until) {
        probes.sendIfDue();
        probes.poll();
        Thread.sleep(1);
      }
      probes.flush();
      awaitAll(probes, Duration.ofSeconds(10));
      alone = probes.percentiles();
    }

    String marker = "backlog-end-" + Long.toString(System.currentTimeMillis(), 36);
    long start = System.nanoTime();
    CompletableFuture<Double> produced =
        CompletableFuture.supplyAsync(() -> produceBacklog(backlog, users, marker));
    Map<String, Double> during;
    int probesDuring;
    double drainSeconds;
    try (Probes probes =
            new Probes(bootstrapServers, valkeyUri, generation, "drain", LatencyRun.PROBE_EVERY);
        Jedis reader = new Jedis(java.net.URI.create(valkeyUri))) {
      String markerKey = ViewKeys.entry(generation, ViewCatalog.USER_SCORE.id(), marker);
      long deadline = start + timeout.toNanos();
      long nextCheck = 0;
      while (true) {
        long now = System.nanoTime();
        probes.sendIfDue();
        probes.poll();
        if (now >= nextCheck) {
          nextCheck = now + 50_000_000L;
          if (produced.isDone() && reader.exists(markerKey)) {
            break;
          }
        }
        if (now > deadline) {
          throw new IllegalStateException(
              "the p2 backlog of " + backlog + " events did not drain within " + timeout);
        }
        Thread.sleep(1);
      }
      drainSeconds = (System.nanoTime() - start) / 1e9;
      probes.flush();
      awaitAll(probes, Duration.ofSeconds(10));
      during = probes.percentiles();
      probesDuring = probes.sent();
    }
    double produceSeconds = produced.join();
    log.printf(
        "  p0 alone (%d s): p50 %s ms, p99 %s ms; during a p2 drain of %,d events (produced in %.1f"
            + " s, drained in %.1f s = %,.0f events/s): p50 %s ms, p99 %s ms%n",
        aloneSeconds,
        LatencyRun.format(alone.get("p50")),
        LatencyRun.format(alone.get("p99")),
        backlog,
        produceSeconds,
        drainSeconds,
        backlog / drainSeconds,
        LatencyRun.format(during.get("p50")),
        LatencyRun.format(during.get("p99")));
    return new Result(
        aloneSeconds, alone, backlog, produceSeconds, drainSeconds, during, probesDuring);
  }

  private static void awaitAll(Probes probes, Duration wait) throws InterruptedException {
    long until = System.nanoTime() + wait.toNanos();
    while (!probes.allSeen() && System.nanoTime() < until) {
      probes.poll();
      Thread.sleep(1);
    }
  }

  /** Daily bonuses for {@code users} users, then one for the marker; seconds it took. */
  private double produceBacklog(long backlog, int users, String marker) {
    long start = System.nanoTime();
    SplittableRandom random = new SplittableRandom(17);
    try (EventProducer producer = new EventProducer(bootstrapServers, "", new Properties())) {
      for (long i = 0; i < backlog; i++) {
        producer.send(bonus("user-" + random.nextInt(users)));
      }
      producer.send(bonus(marker));
      producer.flush();
    }
    return (System.nanoTime() - start) / 1e9;
  }

  private static Event bonus(String user) {
    return new Event(
        UUID.randomUUID().toString(),
        EventType.DAILY_BONUS,
        user,
        null,
        Instant.now(),
        "tally-bench-backlog",
        new DailyBonus(LocalDate.now(ZoneOffset.UTC)));
  }
}
