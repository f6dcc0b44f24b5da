package dev.tally.bench;

import dev.tally.common.flink.FlinkRestClient;
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
    List<Rung> results = new ArrayList<>();
    for (int i = 0; i < rungs.size(); i++) {
      String rung = rungs.get(i);
      List<String> args = new ArrayList<>(List.of("--rung", rung));
      args.addAll(jobArgs.apply(i));
      String jobId = flink.run(jarId, ENTRY_CLASS, args, null, false);
      JobWatch watch = new JobWatch(flink, jobId);
      while (true) {
        String state = watch.state();
        if (state.equals("FINISHED")) {
          break;
        }
        if (state.equals("FAILED") || state.equals("CANCELED")) {
          throw new IllegalStateException("ladder rung " + rung + " job " + jobId + " " + state);
        }
        Thread.sleep(500);
      }
      var job = watch.job();
      double seconds = (job.path("end-time").asLong() - job.path("start-time").asLong()) / 1000.0;
      Rung result = new Rung(rung, jobId, events, seconds, events / seconds);
      out.printf(
          "  %-8s %,d events in %.1f s = %,.0f events/s%n",
          rung, events, seconds, result.eventsPerSecond());
      results.add(result);
    }
    return results;
  }
}
