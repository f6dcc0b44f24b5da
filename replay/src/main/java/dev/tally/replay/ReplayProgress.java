package dev.tally.replay;

import dev.tally.common.flink.FlinkRestClient;
import dev.tally.common.replay.Position;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.TopicPartition;

/**
 * Where a running projection job's sources are, per partition, from the Kafka source's own metrics
 * read over Flink's REST API: {@code KafkaSourceReader.topic.<topic>.partition.<p>.currentOffset}
 * (the offset of the last record handed on, so the position is one past it) and {@code
 * …committedOffset} (what this job committed on its last checkpoint: the only sign of where a job
 * restored at the end of the log stands, as it reads nothing); and the progress line a replay
 * reports while it waits.
 */
final class ReplayProgress {

  private static final String MARK = ".KafkaSourceReader.topic.";
  private static final String CURRENT = ".currentOffset";
  private static final String COMMITTED = ".committedOffset";

  private final FlinkRestClient flink;
  private final String jobId;
  private final ReplayListener listener;
  private final long startedNanos = System.nanoTime();
  private long lastRead = -1;
  private long lastNanos;
  private double rate;

  /** Metric ids carry topic names with '.' replaced by '_': the job's topics map them back. */
  private final Map<String, String> topicsByMetricName = new HashMap<>();

  ReplayProgress(
      FlinkRestClient flink, String jobId, List<String> topics, ReplayListener listener) {
    this.flink = flink;
    this.jobId = jobId;
    this.listener = listener;
    topics.forEach(topic -> topicsByMetricName.put(topic.replace('.', '_'), topic));
  }

  /**
   * Per partition, the next offset the job will read (last handed-on offset + 1); partitions the
   * job has not read from yet are absent.
   */
  Map<TopicPartition, Long> positions() {
    Map<TopicPartition, Long> positions = new HashMap<>();
    for (FlinkRestClient.Vertex vertex : flink.vertices(jobId)) {
      if (!vertex.name().startsWith("Source:")) {
        continue;
      }
      List<String> ids = new ArrayList<>();
      for (String id : flink.metricIds(jobId, vertex.id())) {
        if (id.contains(MARK) && (id.endsWith(CURRENT) || id.endsWith(COMMITTED))) {
          ids.add(id);
        }
      }
      flink
          .subtaskMetrics(jobId, vertex.id(), ids, "max")
          .forEach(
              (id, value) -> {
                boolean current = id.endsWith(CURRENT);
                String rest =
                    id.substring(
                        id.indexOf(MARK) + MARK.length(),
                        id.length() - (current ? CURRENT : COMMITTED).length());
                int at = rest.lastIndexOf(".partition.");
                String topic = topicsByMetricName.get(rest.substring(0, at));
                TopicPartition partition =
                    new TopicPartition(
                        topic == null ? rest.substring(0, at) : topic,
                        Integer.parseInt(rest.substring(at + ".partition.".length())));
                if (value >= 0) {
                  positions.merge(partition, value.longValue() + (current ? 1 : 0), Math::max);
                }
              });
    }
    return positions;
  }

  /**
   * Reports one progress line: events read vs. target in total and per partition, rate, ETA.
   * Returns the events left. Partitions absent from {@code start} count from offset 0.
   */
  long report(Map<TopicPartition, Long> start, Map<TopicPartition, Long> target) {
    Map<TopicPartition, Long> positions = positions();
    long read = 0;
    long total = 0;
    StringBuilder partitions = new StringBuilder();
    List<TopicPartition> order = new ArrayList<>(target.keySet());
    order.sort(Position.PARTITION_ORDER);
    for (TopicPartition tp : order) {
      long from = start.getOrDefault(tp, 0L);
      long to = Math.max(target.getOrDefault(tp, from), from);
      long at = Math.min(Math.max(positions.getOrDefault(tp, from), from), to);
      read += at - from;
      total += to - from;
      partitions
          .append("  ")
          .append(tp.topic())
          .append(':')
          .append(tp.partition())
          .append(' ')
          .append(to == from ? 100 : (at - from) * 100 / (to - from))
          .append('%');
    }
    long now = System.nanoTime();
    if (lastRead >= 0 && now > lastNanos) {
      double instant = (read - lastRead) / ((now - lastNanos) / 1e9);
      rate = rate == 0 ? instant : 0.5 * rate + 0.5 * instant;
    }
    lastRead = read;
    lastNanos = now;
    long left = total - read;
    String eta = rate > 1 ? format(Duration.ofSeconds((long) (left / rate))) : "?";
    listener.say(
        String.format(
            "[%s] read %,d / %,d (%.1f%%)  %,.0f events/s  ETA %s |%s",
            format(Duration.ofNanos(now - startedNanos)),
            read,
            total,
            total == 0 ? 100.0 : read * 100.0 / total,
            rate,
            left == 0 ? "0:00" : eta,
            partitions));
    return left;
  }

  static String format(Duration duration) {
    long seconds = duration.toSeconds();
    return seconds >= 3600
        ? String.format("%d:%02d:%02d", seconds / 3600, seconds / 60 % 60, seconds % 60)
        : String.format("%d:%02d", seconds / 60, seconds % 60);
  }
}
