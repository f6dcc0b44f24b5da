package dev.tally.common.kafka;

import java.util.Map;
import java.util.stream.Collectors;

/**
 * Tally refuses a topic whose {@code cleanup.policy} includes {@code compact}: compaction keeps
 * only the last record per key and so silently drops events, and the log is the truth.
 */
public final class CompactedTopicException extends IllegalStateException {

  private static final long serialVersionUID = 1L;

  private final Map<String, String> policies;

  /**
   * @param policies the offending topics and their {@code cleanup.policy}
   */
  public CompactedTopicException(Map<String, String> policies) {
    super(
        policies.entrySet().stream()
                .map(e -> "topic " + e.getKey() + " has cleanup.policy=" + e.getValue())
                .collect(Collectors.joining("; "))
            + ". Tally refuses compacted topics: compaction silently drops events, and the event log"
            + " must keep every one. Set cleanup.policy=delete on the topic (kafka-configs --alter"
            + " --add-config cleanup.policy=delete) or use another topic name; nothing was changed.");
    this.policies = Map.copyOf(policies);
  }

  public Map<String, String> policies() {
    return policies;
  }
}
