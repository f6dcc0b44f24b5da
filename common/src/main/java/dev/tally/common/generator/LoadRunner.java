package dev.tally.common.generator;

import dev.tally.common.kafka.EventProducer;
import java.io.PrintStream;
import java.time.Duration;

/**
 * Sends a generator's records through an {@link EventProducer}, at a fixed rate or as fast as the
 * producer takes them, printing progress (count, rate, ETA) at an interval.
 */
public final class LoadRunner {

  private final LoadGenerator generator;
  private final EventProducer producer;
  private final double ratePerSecond;
  private final PrintStream progress;
  private final Duration progressInterval;

  /**
   * @param ratePerSecond records per second; 0 or less sends unthrottled
   * @param progress where progress lines go (stderr for the CLI)
   */
  public LoadRunner(
      LoadGenerator generator,
      EventProducer producer,
      double ratePerSecond,
      PrintStream progress,
      Duration progressInterval) {
    this.generator = generator;
    this.producer = producer;
    this.ratePerSecond = ratePerSecond;
    this.progress = progress;
    this.progressInterval = progressInterval;
  }

  /** What a run did: the generator's summary and how long sending took. */
  public record Result(GeneratorSummary summary, long acknowledged, Duration elapsed) {
    public double recordsPerSecond() {
      double seconds = elapsed.toNanos() / 1e9;
      return seconds > 0 ? summary.records() / seconds : 0;
    }
  }

  /** Sends every record, then flushes; throws when any send failed. */
  public Result run() throws InterruptedException {
    return run(null);
  }

  /**
   * Sends the records until they run out or {@code limit} has passed (null: no limit), then
   * flushes: a run bounded by wall time lasts what it says however fast the producer gets.
   */
  public Result run(Duration limit) throws InterruptedException {
    long total = generator.options().records();
    long start = System.nanoTime();
    long end = limit == null ? Long.MAX_VALUE : start + limit.toNanos();
    long nextReport = start + progressInterval.toNanos();
    long sent = 0;
    while (generator.hasNext() && System.nanoTime() < end) {
      GeneratedRecord record = generator.next();
      producer.sendRaw(record.topic(), record.key(), record.value());
      sent++;
      if (ratePerSecond > 0) {
        long due = start + (long) (sent * 1e9 / ratePerSecond);
        long wait = due - System.nanoTime();
        if (wait > 1_000_000) {
          Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
        }
      }
      long now = System.nanoTime();
      if (now >= nextReport) {
        report(sent, total, now - start);
        nextReport = now + progressInterval.toNanos();
      }
    }
    producer.flush();
    long elapsed = System.nanoTime() - start;
    report(sent, total, elapsed);
    return new Result(generator.summary(), producer.acknowledged(), Duration.ofNanos(elapsed));
  }

  private void report(long sent, long total, long elapsedNanos) {
    double seconds = Math.max(elapsedNanos / 1e9, 1e-9);
    double rate = sent / seconds;
    double percent = total == 0 ? 100 : 100.0 * sent / total;
    String eta = rate > 0 && sent < total ? String.format("%.1f s", (total - sent) / rate) : "0 s";
    progress.printf(
        "produce: %,d/%,d records (%.1f%%), %,.0f records/s, acknowledged %,d, ETA %s%n",
        sent, total, percent, rate, producer.acknowledged(), eta);
  }
}
