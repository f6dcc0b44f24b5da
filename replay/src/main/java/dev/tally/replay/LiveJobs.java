package dev.tally.replay;

import dev.tally.common.flink.FlinkRestClient;
import dev.tally.common.flink.JobArguments;
import dev.tally.common.flink.JobState;
import dev.tally.common.replay.Generations;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** The Tally projection jobs a cluster runs, found by the arguments they published. */
public final class LiveJobs {

  private final FlinkRestClient flink;
  private final String flinkUrl;
  private final ReplayStores stores;

  LiveJobs(FlinkRestClient flink, String flinkUrl, ReplayStores stores) {
    this.flink = flink;
    this.flinkUrl = flinkUrl;
    this.stores = stores;
  }

  /** Running jobs that published Tally projection arguments, newest first. */
  public List<TallyJob> running() {
    List<TallyJob> jobs = new ArrayList<>();
    for (FlinkRestClient.Job job : flink.jobs()) {
      if (job.state() != JobState.RUNNING) {
        continue;
      }
      Map<String, String> config = flink.userConfig(job.id());
      if (config.containsKey(JobArguments.KEY)) {
        jobs.add(TallyJob.of(job.id(), job.name(), config));
      }
    }
    return jobs;
  }

  /**
   * Jobs that published Tally projection options and have not ended (running, restarting, …),
   * writing {@code generation}.
   */
  public List<TallyJob> notEnded(int generation) {
    List<TallyJob> jobs = new ArrayList<>();
    for (FlinkRestClient.Job job : flink.jobs()) {
      if (job.state().isGloballyTerminal()) {
        continue;
      }
      Map<String, String> config = flink.userConfig(job.id());
      if (config.containsKey(JobArguments.KEY)) {
        TallyJob tally = TallyJob.of(job.id(), job.name(), config);
        if (tally.generation() == generation) {
          jobs.add(tally);
        }
      }
    }
    return jobs;
  }

  /** Job {@code id}, which must be running. */
  public TallyJob byId(String id) {
    Map<String, String> config = flink.userConfig(id);
    FlinkRestClient.JobDetails details = flink.job(id);
    if (details.state() != JobState.RUNNING) {
      throw new IllegalStateException("job " + id + " is " + details.state() + ", not RUNNING");
    }
    return TallyJob.of(id, details.name(), config);
  }

  /** The one running job that writes {@code generation}. */
  public TallyJob writing(int generation) {
    List<TallyJob> writers =
        running().stream().filter(job -> job.generation() == generation).toList();
    if (writers.isEmpty()) {
      throw new IllegalStateException(
          "no running Tally projection job writes generation "
              + generation
              + " on "
              + flinkUrl
              + "; start one (make demo) or name it with --job");
    }
    if (writers.size() > 1) {
      throw new IllegalStateException(
          "several running jobs write generation "
              + generation
              + ": "
              + writers
              + "; pick one with --job");
    }
    return writers.get(0);
  }

  /** The live job: {@code id} when given, else the running job writing the served generation. */
  public TallyJob live(String id) {
    if (id != null) {
      return byId(id);
    }
    List<TallyJob> jobs = running();
    if (jobs.isEmpty()) {
      throw new IllegalStateException(
          "no running Tally projection job on "
              + flinkUrl
              + "; start one (make demo) or pass --job");
    }
    int served;
    try (Generations generations = stores.generations(jobs.get(0))) {
      served = generations.servedInValkey();
    }
    return writing(served);
  }

  /**
   * The newest running job writing another generation than {@code live}'s, or {@code generation}
   * when not 0: the one a cutover switches readers to.
   */
  public TallyJob next(TallyJob live, int generation) {
    TallyJob next = null;
    for (TallyJob job : running()) {
      if (job.generation() != live.generation()
          && (generation == 0 || job.generation() == generation)
          && (next == null || job.generation() > next.generation())) {
        next = job;
      }
    }
    if (next == null) {
      throw new IllegalStateException(
          "no running job writes "
              + (generation == 0
                  ? "a generation other than " + live.generation()
                  : "generation " + generation)
              + "; start one with: tally replay rebuild");
    }
    return next;
  }
}
