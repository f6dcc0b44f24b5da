package dev.tally.jobs.projection;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.OperatorStateStore;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.tuple.Tuple2;

/**
 * A clock per Kafka partition of one lane topic: the greatest value (an event time, an append time)
 * seen among the partition's records so far. Each partition is read in offset order by one source
 * subtask, so a clock depends only on its partition's records. Checkpointed as union list state:
 * after a rescale every subtask gets every partition's clock and keeps the greatest it sees (clocks
 * only grow, so an older copy never wins). Not thread-safe: one operator's task thread.
 */
final class PartitionClocks {

  private long[] clocks = new long[0];
  private ListState<Tuple2<Integer, Long>> checkpointed;

  /** Registers the union state under {@code name} and, on restore, reads the clocks back. */
  void initialize(OperatorStateStore store, String name, boolean restored) throws Exception {
    checkpointed =
        store.getUnionListState(
            new ListStateDescriptor<>(name, Types.TUPLE(Types.INT, Types.LONG)));
    clocks = new long[0];
    if (restored) {
      for (Tuple2<Integer, Long> clock : checkpointed.get()) {
        advance(clock.f0, clock.f1);
      }
    }
  }

  /** Writes every known clock into the union state. */
  void snapshot() throws Exception {
    List<Tuple2<Integer, Long>> known = new ArrayList<>();
    for (int partition = 0; partition < clocks.length; partition++) {
      if (clocks[partition] != Long.MIN_VALUE) {
        known.add(Tuple2.of(partition, clocks[partition]));
      }
    }
    checkpointed.update(known);
  }

  /** A partition's clock: the greatest value seen, {@link Long#MIN_VALUE} before any. */
  long get(int partition) {
    return partition < clocks.length ? clocks[partition] : Long.MIN_VALUE;
  }

  /** Moves a partition's clock to {@code value} if that is later. */
  void advance(int partition, long value) {
    if (partition >= clocks.length) {
      int from = clocks.length;
      clocks = Arrays.copyOf(clocks, Math.max(partition + 1, from * 2));
      Arrays.fill(clocks, from, clocks.length, Long.MIN_VALUE);
    }
    clocks[partition] = Math.max(clocks[partition], value);
  }
}
