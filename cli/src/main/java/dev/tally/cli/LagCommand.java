package dev.tally.cli;

import dev.tally.common.events.Lane;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code tally lag}: how far a consumer group (a projection job) is behind the lane topics. */
@Command(
    name = "lag",
    mixinStandardHelpOptions = true,
    description = {
      "Show a consumer group's lag on the lane topics, per partition: end offset minus committed offset.",
      "A Flink job commits its offsets on each checkpoint, so its lag trails by up to one checkpoint interval.",
      "With --wait, keep polling (progress each second) until the lag is zero; exit 1 on --timeout."
    })
final class LagCommand implements Callable<Integer> {

  @Spec CommandSpec spec;
  @Mixin KafkaOptions kafka;

  @Option(
      names = "--group",
      required = true,
      description = "Consumer group id, e.g. tally-projection.")
  String group;

  @Option(
      names = "--lanes",
      defaultValue = "p0,p1,p2",
      split = ",",
      description = "Lanes to look at (default: ${DEFAULT-VALUE}).")
  List<String> lanes;

  @Option(names = "--wait", description = "Wait until the lag is zero.")
  boolean waitForZero;

  @Option(
      names = "--timeout",
      defaultValue = "10min",
      description = "How long --wait waits (default: ${DEFAULT-VALUE}).")
  String timeout;

  @Override
  public Integer call() throws Exception {
    Duration limit;
    try {
      limit = Durations.parse("--timeout", timeout);
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), e.getMessage());
    }
    List<String> topics = new ArrayList<>();
    for (String lane : lanes) {
      topics.add(Lane.parse(lane).topic(kafka.topicPrefix));
    }
    PrintWriter out = spec.commandLine().getOut();
    try (Admin admin = Admin.create(kafka.adminProperties())) {
      if (!waitForZero) {
        Map<TopicPartition, long[]> lag = lag(admin, topics);
        if (lag == null) {
          // Not the whole log as lag: a mistyped group looks exactly like a job that read nothing.
          throw new IllegalStateException(
              "consumer group "
                  + group
                  + " has committed no offsets on this cluster: an unknown group, or its job has"
                  + " not completed a checkpoint yet (Flink commits on checkpoints); check --group"
                  + " (the job's --group-id, default tally-projection)");
        }
        out.printf("%-32s %9s %12s %12s %12s%n", "TOPIC", "PARTITION", "COMMITTED", "END", "LAG");
        lag.forEach(
            (tp, offsets) ->
                out.printf(
                    "%-32s %9d %,12d %,12d %,12d%n",
                    tp.topic(), tp.partition(), offsets[0], offsets[1], offsets[1] - offsets[0]));
        out.printf("total lag %,d records%n", total(lag));
        out.flush();
        return 0;
      }
      long start = System.nanoTime();
      long firstLag = -1;
      while (true) {
        Map<TopicPartition, long[]> lag = lag(admin, topics);
        if (lag == null) {
          out.printf("lag: group %s has committed no offsets yet%n", group);
          out.flush();
          if (System.nanoTime() - start > limit.toNanos()) {
            spec.commandLine()
                .getErr()
                .printf(
                    "tally lag: group %s committed no offsets within %s (unknown group?)%n",
                    group, timeout);
            spec.commandLine().getErr().flush();
            return 1;
          }
          Thread.sleep(1000);
          continue;
        }
        long remaining = total(lag);
        double seconds = (System.nanoTime() - start) / 1e9;
        if (firstLag < 0) {
          firstLag = remaining;
        }
        double rate = seconds > 0 ? (firstLag - remaining) / seconds : 0;
        String eta =
            remaining == 0
                ? "0 s"
                : rate > 0 ? String.format("%.0f s", remaining / rate) : "unknown";
        out.printf("lag: %,d records behind, %,.0f records/s, ETA %s%n", remaining, rate, eta);
        out.flush();
        if (remaining == 0) {
          return 0;
        }
        if (System.nanoTime() - start > limit.toNanos()) {
          spec.commandLine()
              .getErr()
              .printf(
                  "tally lag: group %s still %,d records behind after %s%n",
                  group, remaining, timeout);
          spec.commandLine().getErr().flush();
          return 1;
        }
        Thread.sleep(1000);
      }
    }
  }

  private static long total(Map<TopicPartition, long[]> lag) {
    return lag.values().stream().mapToLong(o -> o[1] - o[0]).sum();
  }

  /**
   * Per partition: {committed (0 when none), end}; null when the group has committed no offset at
   * all (on any topic): unknown, or not started.
   */
  private Map<TopicPartition, long[]> lag(Admin admin, List<String> topics) throws Exception {
    Set<TopicPartition> partitions =
        admin.describeTopics(topics).allTopicNames().get(30, TimeUnit.SECONDS).values().stream()
            .flatMap(
                d -> d.partitions().stream().map(p -> new TopicPartition(d.name(), p.partition())))
            .collect(Collectors.toSet());
    Map<TopicPartition, OffsetAndMetadata> committed =
        admin
            .listConsumerGroupOffsets(group)
            .partitionsToOffsetAndMetadata()
            .get(30, TimeUnit.SECONDS);
    if (committed.isEmpty()) {
      return null;
    }
    Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
    partitions.forEach(tp -> latest.put(tp, OffsetSpec.latest()));
    Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> ends =
        admin.listOffsets(latest).all().get(30, TimeUnit.SECONDS);
    Map<TopicPartition, long[]> lag =
        new TreeMap<>(
            (a, b) ->
                a.topic().equals(b.topic())
                    ? Integer.compare(a.partition(), b.partition())
                    : a.topic().compareTo(b.topic()));
    for (TopicPartition tp : partitions) {
      OffsetAndMetadata offset = committed.get(tp);
      lag.put(tp, new long[] {offset == null ? 0 : offset.offset(), ends.get(tp).offset()});
    }
    return lag;
  }
}
