package dev.tally.bench.jmh;

import dev.tally.common.events.EventCodec;
import dev.tally.common.events.EventDecodingException;
import dev.tally.common.generator.GeneratedRecord;
import dev.tally.common.generator.GeneratorOptions;
import dev.tally.common.generator.LoadGenerator;
import dev.tally.events.Event;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/** Decoding one Kafka record value into an {@link Event} (header check + Avro). */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 3)
@Fork(1)
public class DecodeBenchmark {

  private final EventCodec codec = new EventCodec();
  private final List<byte[]> values = new ArrayList<>();
  private int next;

  @Setup
  public void generate() {
    LoadGenerator generator =
        new LoadGenerator(
            GeneratorOptions.defaults().withRecords(10_000).withFractions(0, 0, 0, 0));
    while (generator.hasNext()) {
      GeneratedRecord record = generator.next();
      values.add(record.value());
    }
  }

  @Benchmark
  public Event decode() throws EventDecodingException {
    byte[] value = values.get(next);
    next = next + 1 == values.size() ? 0 : next + 1;
    return codec.decode(value);
  }
}
