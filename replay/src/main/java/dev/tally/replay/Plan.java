package dev.tally.replay;

import dev.tally.common.kafka.TopicApplier;
import dev.tally.common.replay.Position;
import dev.tally.common.replay.PositionResolver;
import dev.tally.common.replay.ReplayRange;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.common.TopicPartition;

/**
 * {@code tally replay plan}: what a replay from {@code from} to {@code to} would read, per
 * partition (retained range, start, end, events); refused on a compacted or missing lane topic.
 * Reported as a table; the range is the result.
 */
public final class Plan {

  private final ReplaySession session;

  public Plan(ReplaySession session) {
    this.session = session;
  }

  /**
   * @param job the live job (its security settings for the AdminClient), or null
   * @param to null: to the end (continuous; counted to the end offsets now)
   */
  public ReplayRange run(
      List<String> topics, String bootstrap, TallyJob job, Position from, Position to) {
    ReplayRange range;
    try (Admin admin = ReplayStores.admin(bootstrap, job)) {
      // A compacted lane topic has lost events: nothing read from it rebuilds the views exactly.
      new TopicApplier(admin).requireUsable(topics);
      range = new PositionResolver(admin).range(from, to, topics);
    }
    session.say(
        "replay plan: from %s to %s",
        from,
        to == null ? "the end (continuous; counted to the end offsets now)" : to + " (bounded)");
    session.say(
        "%-24s %14s %14s %14s %14s", "topic:partition", "retained from", "start", "end", "events");
    List<TopicPartition> order = new ArrayList<>(range.start().keySet());
    order.sort(Position.PARTITION_ORDER);
    for (TopicPartition tp : order) {
      long start = range.start().get(tp);
      long end = range.end().get(tp);
      session.say(
          "%-24s %,14d %,14d %,14d %,14d",
          tp.topic() + ":" + tp.partition(),
          range.retained().get(tp).earliest(),
          start,
          end,
          end - start);
    }
    session.say("total: %,d events in %d partitions", range.events(), order.size());
    return range;
  }
}
