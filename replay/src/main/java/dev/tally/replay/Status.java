package dev.tally.replay;

import dev.tally.common.replay.CutoverRecord;
import dev.tally.common.replay.Generations;
import dev.tally.common.replay.ReplayLease;
import dev.tally.common.replay.Retirement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.kafka.common.TopicPartition;

/**
 * {@code tally replay status}: the served generation in each store, the replay holding the lease,
 * the running projection jobs and how far behind the log each is, the last cutover and the retired
 * generations.
 */
public final class Status {

  /**
   * A running job and its lag: null while its sources have reported no offsets yet.
   *
   * @param unreported partitions without a reported position (not counted in the lag)
   */
  public record JobLag(TallyJob job, Long lag, int unreported) {}

  /**
   * @param servedInPostgres null when the job keeps no PostgreSQL copy
   * @param leaseHolder the replay running now, or null
   * @param lastCutover null when none is recorded
   * @param lastKeptUntil when the last cutover's old generation expires; null once it has
   */
  public record Report(
      int servedInValkey,
      Integer servedInPostgres,
      String leaseHolder,
      List<JobLag> jobs,
      CutoverRecord lastCutover,
      Instant lastKeptUntil,
      List<Retirement.Retired> retired) {

    /** The report as {@code tally replay status} prints it. */
    public List<String> lines() {
      List<String> lines = new ArrayList<>();
      lines.add(
          "served generation: Valkey "
              + servedInValkey
              + (servedInPostgres == null ? "" : ", PostgreSQL " + servedInPostgres));
      lines.add("replay running: " + (leaseHolder == null ? "none" : leaseHolder));
      lines.add("running projection jobs:");
      for (JobLag lag : jobs) {
        TallyJob job = lag.job();
        lines.add(
            String.format(
                "  %s  generation %d  lanes %s  group %s  lag %s",
                job,
                job.generation(),
                String.join(",", job.options().lanes()),
                job.options().groupId(),
                lag.lag() == null
                    ? "unknown yet (no source offsets reported before its first record or"
                        + " checkpoint)"
                    : String.format("%,d events", lag.lag())
                        + (lag.unreported() == 0
                            ? ""
                            : " ("
                                + lag.unreported()
                                + " partitions not reported yet, not counted)")));
      }
      if (jobs.isEmpty()) {
        lines.add("  (none)");
      }
      if (lastCutover != null) {
        lines.add(
            String.format(
                "last cutover: generation %d → %d at %s; generation %d %s",
                lastCutover.from(),
                lastCutover.to(),
                lastCutover.at(),
                lastCutover.from(),
                lastKeptUntil == null
                    ? "has expired (no rollback)"
                    : "kept until " + lastKeptUntil + " (rollback possible)"));
      }
      for (Retirement.Retired generation : retired) {
        lines.add(
            String.format(
                "retired in PostgreSQL: generation %d, rows purged after %s",
                generation.generation(), generation.expiresAt()));
      }
      return lines;
    }
  }

  private final ReplaySession session;

  public Status(ReplaySession session) {
    this.session = session;
  }

  /** The report; empty when no job runs and no Valkey was given (nothing to look at). */
  public Optional<Report> run() {
    List<TallyJob> jobs = session.jobs().running();
    TallyJob any = jobs.isEmpty() ? null : jobs.get(0);
    if (any == null && session.settings().valkey() == null) {
      return Optional.empty();
    }
    try (Generations generations = session.stores().generations(any)) {
      List<JobLag> lags = new ArrayList<>();
      for (TallyJob job : jobs) {
        Map<TopicPartition, Long> ends = session.stores().endOffsets(job);
        Map<TopicPartition, Long> at = session.control().positions(job);
        long lag = 0;
        int unreported = 0;
        for (Map.Entry<TopicPartition, Long> end : ends.entrySet()) {
          Long position = at.get(end.getKey());
          if (position == null) {
            unreported++;
          } else {
            lag += Math.max(0, end.getValue() - position);
          }
        }
        lags.add(new JobLag(job, at.isEmpty() ? null : lag, unreported));
      }
      CutoverRecord last = CutoverRecord.load(generations.valkeyClient()).orElse(null);
      return Optional.of(
          new Report(
              generations.servedInValkey(),
              generations.servedInPostgres(),
              ReplayLease.holder(generations.valkeyClient()),
              List.copyOf(lags),
              last,
              last == null ? null : generations.retirement().retiredUntil(last.from()),
              generations.retirement().retired()));
    }
  }
}
