package dev.tally.common.replay;

import java.util.Map;
import org.apache.kafka.common.TopicPartition;

/**
 * What a replay reads, resolved per partition: from {@code start} (inclusive) to {@code end}
 * (exclusive). When {@link #bounded()} is false the replay goes on past {@code end}, which is then
 * the log's end at resolution time (what a plan can count).
 *
 * @param startPosition the position as given
 * @param endPosition the end as given, null for a continuous replay
 */
public record ReplayRange(
    Position startPosition,
    Position endPosition,
    Map<TopicPartition, Long> start,
    Map<TopicPartition, Long> end,
    Map<TopicPartition, PositionResolver.Retained> retained) {

  public ReplayRange {
    start = Map.copyOf(start);
    end = Map.copyOf(end);
    retained = Map.copyOf(retained);
  }

  public boolean bounded() {
    return endPosition != null;
  }

  /** Events between start and end over all partitions (duplicates and dead letters included). */
  public long events() {
    long events = 0;
    for (Map.Entry<TopicPartition, Long> partition : start.entrySet()) {
      events += end.get(partition.getKey()) - partition.getValue();
    }
    return events;
  }

  /** The explicit form of the start offsets, which the job accepts as {@code --start}. */
  public String startSpec() {
    return Position.format(start);
  }

  /** The explicit form of the end offsets ({@code --stop}); null when continuous. */
  public String endSpec() {
    return bounded() ? Position.format(end) : null;
  }
}
