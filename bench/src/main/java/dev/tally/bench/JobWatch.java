package dev.tally.bench;

import dev.tally.common.flink.FlinkRestClient;
import dev.tally.common.flink.JobState;
import dev.tally.common.flink.TaskState;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Watches one projection job over Flink's REST API: records read by its sources, the sinks'
 * end-to-end latency histograms, its latest checkpoint and the TaskManager heap.
 */
final class JobWatch {

  /** One sample of the job's progress. */
  record Sample(double seconds, long recordsRead, double heapUsedBytes) {}

  static final List<String> PERCENTILES = List.of("p50", "p95", "p99", "p999");

  private final FlinkRestClient flink;
  private final String jobId;
  private final Map<String, String> sourceCounters = new LinkedHashMap<>();
  private final Map<String, List<String>> latencyMetrics = new LinkedHashMap<>();
  private final List<String> dedupVertices = new ArrayList<>();

  JobWatch(FlinkRestClient flink, String jobId) {
    this.flink = flink;
    this.jobId = jobId;
  }

  /** Waits until every task runs (the metric ids exist from then on). */
  void awaitRunning(long timeoutMillis) throws InterruptedException {
    long deadline = System.currentTimeMillis() + timeoutMillis;
    while (true) {
      FlinkRestClient.JobDetails job = flink.job(jobId);
      JobState state = job.state();
      boolean allRunning =
          !job.vertices().isEmpty()
              && job.vertices().stream()
                  .allMatch(
                      vertex ->
                          vertex.status() == TaskState.RUNNING
                              || vertex.status() == TaskState.FINISHED);
      if (state == JobState.FAILED || state == JobState.CANCELED) {
        throw new IllegalStateException("job " + jobId + " is " + state);
      }
      if (state == JobState.FINISHED) {
        discoverMetrics();
        return;
      }
      if (state == JobState.RUNNING && allRunning) {
        break;
      }
      if (System.currentTimeMillis() > deadline) {
        throw new IllegalStateException("job " + jobId + " not running after " + timeoutMillis);
      }
      Thread.sleep(200);
    }
    // The REST API's metric store fills in the background: ask until every sink reports.
    while (true) {
      discoverMetrics();
      if (!sourceCounters.isEmpty() && !latencyMetrics.isEmpty()) {
        return;
      }
      if (System.currentTimeMillis() > deadline) {
        throw new IllegalStateException("job " + jobId + " reports no source or sink metrics");
      }
      Thread.sleep(500);
    }
  }

  private void discoverMetrics() {
    sourceCounters.clear();
    latencyMetrics.clear();
    dedupVertices.clear();
    for (FlinkRestClient.Vertex vertex : flink.vertices(jobId)) {
      if (vertex.name().startsWith("project")) {
        dedupVertices.add(vertex.id());
      }
      List<String> latency = new ArrayList<>();
      for (String id : flink.metricIds(jobId, vertex.id())) {
        if (id.matches("Source__lane_p\\d\\.numRecordsOut")) {
          sourceCounters.put(vertex.id(), id);
        }
        for (String p : List.of("median", "p95", "p99", "p999")) {
          // The Valkey writers' histograms (the PostgreSQL writers keep one too).
          if (id.startsWith("valkey") && id.endsWith(".tally.endToEndLatencyMs_" + p)) {
            latency.add(id);
          }
        }
      }
      if (!latency.isEmpty()) {
        latencyMetrics.put(vertex.id(), latency);
      }
    }
  }

  /** Records the sources have emitted so far. */
  long recordsRead() {
    long total = 0;
    for (Map.Entry<String, String> source : sourceCounters.entrySet()) {
      Double value =
          flink
              .subtaskMetrics(jobId, source.getKey(), List.of(source.getValue()), "sum")
              .get(source.getValue());
      total += value == null ? 0 : value.longValue();
    }
    return total;
  }

  /** The TaskManagers' heap in use, summed. */
  double heapUsed() {
    double used = 0;
    for (String tm : flink.taskManagers()) {
      used +=
          flink
              .taskManagerMetrics(tm, List.of("Status.JVM.Memory.Heap.Used"))
              .getOrDefault("Status.JVM.Memory.Heap.Used", 0.0);
    }
    return used;
  }

  /**
   * The job's own end-to-end latency (Kafka append time → Valkey acknowledged) per percentile: the
   * worst over all sink subtasks of each one's recent window (its last 10,000 updates).
   */
  Map<String, Double> sinkLatency() {
    Map<String, Double> worst = new LinkedHashMap<>();
    for (Map.Entry<String, List<String>> vertex : latencyMetrics.entrySet()) {
      flink
          .subtaskMetrics(jobId, vertex.getKey(), vertex.getValue(), "max")
          .forEach(
              (id, value) -> {
                // A subtask with no update yet reports NaN: it has no latency to count.
                if (!value.isNaN()) {
                  // Flink reports a histogram's p50 as "median".
                  String p = id.substring(id.lastIndexOf('_') + 1).replace("median", "p50");
                  worst.merge(p, value, Math::max);
                }
              });
    }
    return worst;
  }

  /** Full state size of the projection vertices (seen ids + the user views' state), bytes. */
  record StateSize(long checkpointId, long dedupChainBytes, long jobBytes) {}

  StateSize latestCheckpoint() {
    FlinkRestClient.CompletedCheckpoint latest =
        flink.latestCompletedCheckpoint(jobId).orElse(null);
    if (latest == null) {
      return null;
    }
    Map<String, Long> sizes = flink.checkpointStateSizes(jobId, latest.id());
    long dedup = 0;
    for (String vertex : dedupVertices) {
      dedup += sizes.getOrDefault(vertex, 0L);
    }
    return new StateSize(latest.id(), dedup, latest.stateSize());
  }

  JobState state() {
    return flink.state(jobId);
  }

  FlinkRestClient.JobDetails job() {
    return flink.job(jobId);
  }
}
