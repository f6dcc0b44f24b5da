package dev.tally.common.replay;

import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListOffsetsResult.ListOffsetsResultInfo;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;

/**
 * Turns {@link Position}s into offsets per partition, with Kafka's AdminClient, and refuses what
 * cannot be read: an unknown topic or partition, an offset outside the retained range, a timestamp
 * in the future, a group without committed offsets, an end before the start. Every error names the
 * position and the partition, so it can be fixed before anything is submitted.
 */
public final class PositionResolver {

  /** One partition's retained range: {@code [earliest, end)}; end is the next offset to write. */
  public record Retained(long earliest, long end) {}

  private final Admin admin;
  private final Clock clock;

  /**
   * An AdminClient for {@code bootstrapServers} carrying the security settings ({@code security.*},
   * {@code sasl.*}, {@code ssl.*}) among {@code clientProperties} — the extra properties a job's
   * Kafka clients are given — so it reaches the cluster the job reads. The caller closes it.
   */
  public static Admin admin(String bootstrapServers, Map<String, String> clientProperties) {
    java.util.Properties props = new java.util.Properties();
    props.put(
        org.apache.kafka.clients.admin.AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
        bootstrapServers);
    props.put(
        org.apache.kafka.clients.admin.AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "30000");
    clientProperties.forEach(
        (key, value) -> {
          if (key.startsWith("security.") || key.startsWith("sasl.") || key.startsWith("ssl.")) {
            props.put(key, value);
          }
        });
    return Admin.create(props);
  }

  public PositionResolver(Admin admin) {
    this(admin, Clock.systemUTC());
  }

  public PositionResolver(Admin admin, Clock clock) {
    this.admin = admin;
    this.clock = clock;
  }

  /**
   * The range to read: per partition of {@code topics}, where to start and where to stop. Without
   * an end position the range is continuous and its end is the log's end now (what a plan counts).
   */
  public ReplayRange range(Position start, Position end, List<String> topics) {
    Map<TopicPartition, Retained> retained = retained(topics);
    Map<TopicPartition, Long> from = resolve(start, retained, "start");
    Map<TopicPartition, Long> to;
    if (end == null) {
      to = new TreeMap<>(Position.PARTITION_ORDER);
      retained.forEach((partition, range) -> to.put(partition, range.end()));
    } else {
      to = resolve(end, retained, "end");
      for (Map.Entry<TopicPartition, Long> partition : from.entrySet()) {
        long stop = to.get(partition.getKey());
        if (stop < partition.getValue()) {
          throw new IllegalArgumentException(
              "end position "
                  + end
                  + " is before the start "
                  + start
                  + " on "
                  + name(partition.getKey())
                  + " (start offset "
                  + partition.getValue()
                  + ", end offset "
                  + stop
                  + ")");
        }
      }
    }
    return new ReplayRange(start, end, from, to, retained);
  }

  /** Offsets of {@code position} for every partition of {@code topics}. */
  public Map<TopicPartition, Long> resolve(Position position, List<String> topics) {
    return resolve(position, retained(topics), "position");
  }

  /** Per partition of {@code topics}: the oldest retained offset and the end. */
  public Map<TopicPartition, Retained> retained(List<String> topics) {
    Map<String, TopicDescription> descriptions;
    try {
      descriptions = admin.describeTopics(topics).allTopicNames().get();
    } catch (ExecutionException e) {
      if (e.getCause() instanceof UnknownTopicOrPartitionException) {
        throw new IllegalArgumentException(
            "unknown topic among " + topics + ": " + e.getCause().getMessage());
      }
      throw new IllegalStateException("cannot describe " + topics + ": " + e.getCause(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
    List<TopicPartition> partitions = new ArrayList<>();
    descriptions.forEach(
        (topic, description) ->
            description
                .partitions()
                .forEach(p -> partitions.add(new TopicPartition(topic, p.partition()))));
    Map<TopicPartition, Long> earliest = list(partitions, OffsetSpec.earliest());
    Map<TopicPartition, Long> end = list(partitions, OffsetSpec.latest());
    Map<TopicPartition, Retained> retained = new TreeMap<>(Position.PARTITION_ORDER);
    for (TopicPartition partition : partitions) {
      retained.put(partition, new Retained(earliest.get(partition), end.get(partition)));
    }
    return retained;
  }

  private Map<TopicPartition, Long> resolve(
      Position position, Map<TopicPartition, Retained> retained, String role) {
    Map<TopicPartition, Long> offsets = new TreeMap<>(Position.PARTITION_ORDER);
    if (position instanceof Position.Earliest) {
      retained.forEach((partition, range) -> offsets.put(partition, range.earliest()));
    } else if (position instanceof Position.Latest) {
      retained.forEach((partition, range) -> offsets.put(partition, range.end()));
    } else if (position instanceof Position.Timestamp timestamp) {
      Instant now = clock.instant();
      if (timestamp.time().isAfter(now)) {
        throw new IllegalArgumentException(
            role
                + " "
                + position
                + " is in the future (now "
                + now
                + "); a timestamp names the first event appended at or after it");
      }
      Map<TopicPartition, Long> found =
          list(
              new ArrayList<>(retained.keySet()),
              OffsetSpec.forTimestamp(timestamp.time().toEpochMilli()));
      // No event at or after the time: the partition starts at its end.
      retained.forEach(
          (partition, range) -> {
            long offset = found.getOrDefault(partition, -1L);
            offsets.put(partition, offset < 0 ? range.end() : offset);
          });
    } else if (position instanceof Position.Group group) {
      Map<TopicPartition, OffsetAndMetadata> committed = committed(group.groupId());
      List<String> missing = new ArrayList<>();
      retained
          .keySet()
          .forEach(
              partition -> {
                OffsetAndMetadata offset = committed.get(partition);
                if (offset == null) {
                  missing.add(name(partition));
                } else {
                  offsets.put(partition, offset.offset());
                }
              });
      if (!missing.isEmpty()) {
        throw new IllegalArgumentException(
            role
                + " "
                + position
                + ": the group has no committed offset for "
                + String.join(", ", missing)
                + (committed.isEmpty()
                    ? " (unknown group, or it never committed; see tally lag)"
                    : "; name those partitions explicitly (topic:partition:offset)"));
      }
    } else if (position instanceof Position.Explicit explicit) {
      offsets.putAll(RetainedOffsets.explicit(explicit, retained, role));
    }
    RetainedOffsets.requireRetained(position, offsets, retained, role);
    return offsets;
  }

  private Map<TopicPartition, Long> list(List<TopicPartition> partitions, OffsetSpec spec) {
    Map<TopicPartition, OffsetSpec> request = new LinkedHashMap<>();
    partitions.forEach(partition -> request.put(partition, spec));
    try {
      Map<TopicPartition, ListOffsetsResultInfo> infos = admin.listOffsets(request).all().get();
      Map<TopicPartition, Long> offsets = new LinkedHashMap<>();
      infos.forEach((partition, info) -> offsets.put(partition, info.offset()));
      return offsets;
    } catch (ExecutionException e) {
      throw new IllegalStateException("cannot list offsets: " + e.getCause(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  private Map<TopicPartition, OffsetAndMetadata> committed(String group) {
    try {
      Map<TopicPartition, OffsetAndMetadata> committed =
          admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get();
      Map<TopicPartition, OffsetAndMetadata> present = new LinkedHashMap<>();
      committed.forEach(
          (partition, offset) -> {
            if (offset != null) {
              present.put(partition, offset);
            }
          });
      return present;
    } catch (ExecutionException e) {
      throw new IllegalStateException(
          "cannot read the offsets of group " + group + ": " + e.getCause(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  static String name(TopicPartition partition) {
    return partition.topic() + ":" + partition.partition();
  }
}
