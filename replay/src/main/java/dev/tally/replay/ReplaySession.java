package dev.tally.replay;

import dev.tally.common.flink.FlinkRestClient;

/**
 * What every replay operation works with: the cluster's jobs ({@link LiveJobs}), the stores ({@link
 * ReplayStores}), what it does to jobs ({@link JobControl}) and where it reports progress. Close it
 * when done: the jar it uploaded is deleted.
 */
public final class ReplaySession implements AutoCloseable {

  private final ReplaySettings settings;
  private final ReplayListener listener;
  private final ReplayStores stores;
  private final LiveJobs jobs;
  private final JobControl control;

  public ReplaySession(ReplaySettings settings, ReplayListener listener) {
    this.settings = settings;
    this.listener = listener;
    FlinkRestClient flink = new FlinkRestClient(settings.flinkUrl());
    this.stores = new ReplayStores(settings);
    this.jobs = new LiveJobs(flink, settings.flinkUrl(), stores);
    this.control = new JobControl(flink, settings, listener);
  }

  public ReplaySettings settings() {
    return settings;
  }

  public LiveJobs jobs() {
    return jobs;
  }

  public ReplayStores stores() {
    return stores;
  }

  JobControl control() {
    return control;
  }

  /**
   * Runs {@code work} holding the one-replay-at-a-time lease for {@code operation} (refused, naming
   * the holder, while another replay holds it).
   */
  <T> T underLease(TallyJob live, String operation, java.util.function.Supplier<T> work) {
    try (ReplayStores.Lease lease = stores.lease(live, operation)) {
      return work.get();
    }
  }

  /** Reports a formatted line ({@link String#format}). */
  void say(String format, Object... args) {
    listener.say(args.length == 0 ? format : String.format(format, args));
  }

  @Override
  public void close() {
    control.close();
  }
}
