package dev.tally.jobs.smoke;

import java.util.concurrent.Callable;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;
import org.apache.flink.util.Collector;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * A trivial bounded job that proves a Flink cluster can run Tally's job jar: it counts the numbers
 * {@code 1..count} per key in RocksDB keyed state and finishes. {@code make smoke} submits it to
 * the local session cluster over the REST API.
 *
 * <p>Reads: nothing external (a number sequence). Writes: nothing external (a discarding sink).
 * Options: {@code --count} (default 1,000,000), {@code --keys} (default 16).
 */
@Command(
    name = "smoke-job",
    mixinStandardHelpOptions = true,
    description = "Counts 1..N per key in keyed state, then finishes: a cluster smoke check.")
public final class SmokeJob implements Callable<Integer> {

  public static final String COUNT_UID = "smoke-count-per-key";

  @Option(
      names = "--count",
      defaultValue = "1000000",
      description = "How many numbers to generate (default: ${DEFAULT-VALUE}).")
  long count;

  @Option(
      names = "--keys",
      defaultValue = "16",
      description = "How many keys to spread them over (default: ${DEFAULT-VALUE}).")
  int keys;

  public static void main(String[] args) {
    int exit = new CommandLine(new SmokeJob()).execute(args);
    if (exit != 0) {
      throw new IllegalArgumentException("smoke-job exited with code " + exit + "; see its output");
    }
  }

  @Override
  public Integer call() throws Exception {
    if (count < 1 || keys < 1) {
      throw new CommandLine.ParameterException(
          new CommandLine(this), "--count and --keys must be at least 1");
    }
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
    build(env, count, keys);
    env.execute("tally-smoke");
    return 0;
  }

  /** The topology: numbers, counted per key, discarded. */
  static DataStream<Long> build(StreamExecutionEnvironment env, long count, int keys) {
    DataStream<Long> counts =
        env.fromSequence(1, count)
            .name("numbers")
            .keyBy(n -> n % keys)
            .process(new CountPerKey())
            .uid(COUNT_UID)
            .name("count-per-key");
    counts.sinkTo(new DiscardingSink<>()).name("discard");
    return counts;
  }

  /** Emits, for each number, how many numbers its key has seen so far. */
  static final class CountPerKey extends KeyedProcessFunction<Long, Long, Long> {
    private transient ValueState<Long> seen;

    @Override
    public void open(OpenContext context) {
      seen = getRuntimeContext().getState(new ValueStateDescriptor<>("seen", Types.LONG));
    }

    @Override
    public void processElement(Long number, Context context, Collector<Long> out) throws Exception {
      long next = (seen.value() == null ? 0 : seen.value()) + 1;
      seen.update(next);
      out.collect(next);
    }
  }
}
