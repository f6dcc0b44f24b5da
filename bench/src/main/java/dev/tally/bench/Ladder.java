package dev.tally.bench;

import dev.tally.common.flink.FlinkRestClient;
import dev.tally.common.flink.JobState;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntFunction;

/**
 * The ladder: the projection job cut after each stage ({@code dev.tally.jobs.ladder.LadderJob}),
 * each rung run bounded over the same preloaded log, one after the other in one run, so the rungs'
 * rates compare as ratios on a noisy machine.
 */
final class Ladder {

  static final String ENTRY_CLASS = "dev.tally.jobs.ladder.LadderJob";

  /** One rung's run. */
  record Rung(String rung, String jobId, long events, double seconds, double eventsPerSecond) {
    Map<String, Object> toMap() {
      Map<String, Object> map = new LinkedHashMap<>();
      map.put("rung", rung);
      map.put("jobId", jobId);
      map.put("events", events);
      map.put("seconds", BenchMain.round(seconds));
      map.put("eventsPerSecond", BenchMain.round(eventsPerSecond));
      return map;
    }
  }

  /**
   * Two jars' runs of the same rungs, in ABBA order.
   *
   * @param a the runs of the first jar, every round's rungs in order
   * @param b the same for the second jar
   */
  record Versus(List<Rung> a, List<Rung> b) {

    /** A rung's median rate over one jar's rounds. */
    static double median(List<Rung> runs, String rung) {
      double[] rates =
          runs.stream()
              .filter(r -> r.rung().equals(rung))
              .mapToDouble(Rung::eventsPerSecond)
              .sorted()
              .toArray();
      if (rates.length == 0) {
        return Double.NaN;
      }
      int mid = rates.length / 2;
      return rates.length % 2 == 1 ? rates[mid] : (rates[mid - 1] + rates[mid]) / 2;
    }

    Map<String, Object> toMap(String jarA, String jarB) {
      Map<String, Object> map = new LinkedHashMap<>();
      map.put("a", jarA);
      map.put("b", jarB);
      map.put("aRuns", a.stream().map(Rung::toMap).toList());
      map.put("bRuns", b.stream().map(Rung::toMap).toList());
      Map<String, Object> medians = new LinkedHashMap<>();
      for (Rung run : a) {
        if (!medians.containsKey(run.rung())) {
          double ma = median(a, run.rung());
          double mb = median(b, run.rung());
          medians.put(
              run.rung(),
              Map.of(
                  "aEventsPerSecond", BenchMain.round(ma),
                  "bEventsPerSecond", BenchMain.round(mb),
                  "bOverA", BenchMain.round(mb / ma)));
        }
      }
      map.put("medians", medians);
      return map;
    }
  }

  private final FlinkRestClient flink;
  private final String jarId;
  private final PrintStream out;

  Ladder(FlinkRestClient flink, String jarId, PrintStream out) {
    this.flink = flink;
    this.jarId = jarId;
    this.out = out;
  }

  /**
   * Runs each rung bounded from earliest to the end of the log.
   *
   * @param jobArgs the projection job's arguments for the i-th rung (its own group and generation)
   */
  List<Rung> run(List<String> rungs, long events, IntFunction<List<String>> jobArgs)
      throws InterruptedException {
    return run(jarId, "", rungs, 0, events, jobArgs);
  }

  /**
   * Runs the rungs with this ladder's jar and {@code jobArgs} (A) and with {@code otherJarId} and
   * {@code otherJobArgs} (B; the same jar to compare settings), {@code rounds} times each in ABBA
   * order (A B B A A B B A …), so a drift over the run (a store growing with each rung's writes, a
   * neighbour's load) weighs on both jars alike. Each run gets its own arguments (index over every
   * run), hence its own consumer group and generation.
   */
  Versus versus(
      String otherJarId,
      int rounds,
      List<String> rungs,
      long events,
      IntFunction<List<String>> jobArgs,
      IntFunction<List<String>> otherJobArgs)
      throws InterruptedException {
    List<Rung> a = new ArrayList<>();
    List<Rung> b = new ArrayList<>();
    for (int round = 0; round < 2 * rounds; round++) {
      boolean first = round % 4 == 0 || round % 4 == 3;
      List<Rung> runs =
          run(
              first ? jarId : otherJarId,
              first ? "A " : "B ",
              rungs,
              round * rungs.size(),
              events,
              first ? jobArgs : otherJobArgs);
      (first ? a : b).addAll(runs);
    }
    for (String rung : rungs) {
      double ma = Versus.median(a, rung);
      double mb = Versus.median(b, rung);
      out.printf("  %-8s median A %,.0f, B %,.0f events/s: B/A %.3f%n", rung, ma, mb, mb / ma);
    }
    return new Versus(a, b);
  }

  private List<Rung> run(
      String jar,
      String label,
      List<String> rungs,
      int firstIndex,
      long events,
      IntFunction<List<String>> jobArgs)
      throws InterruptedException {
    List<Rung> results = new ArrayList<>();
    for (int i = 0; i < rungs.size(); i++) {
      String rung = rungs.get(i);
      List<String> args = new ArrayList<>(List.of("--rung", rung));
      args.addAll(jobArgs.apply(firstIndex + i));
      String jobId = flink.run(jar, FlinkRestClient.Submission.of(ENTRY_CLASS, args));
      JobWatch watch = new JobWatch(flink, jobId);
      while (true) {
        JobState state = watch.state();
        if (state == JobState.FINISHED) {
          break;
        }
        if (state == JobState.FAILED || state == JobState.CANCELED) {
          throw new IllegalStateException("ladder rung " + rung + " job " + jobId + " " + state);
        }
        Thread.sleep(500);
      }
      double seconds = watch.job().runTime().toMillis() / 1000.0;
      Rung result = new Rung(rung, jobId, events, seconds, events / seconds);
      out.printf(
          "  %s%-8s %,d events in %.1f s = %,.0f events/s%n",
          label, rung, events, seconds, result.eventsPerSecond());
      results.add(result);
    }
    return results;
  }
}
