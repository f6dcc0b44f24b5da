package dev.tally.common.wait;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class PollTest {

  @Test
  void returnsTheFirstAnswerAndAsksNoMore() throws InterruptedException {
    AtomicInteger looks = new AtomicInteger();
    String answer =
        Poll.until(
            "the third look",
            Duration.ofSeconds(10),
            Duration.ofMillis(1),
            () -> looks.incrementAndGet() == 3 ? "ready" : null);
    assertThat(answer).isEqualTo("ready");
    assertThat(looks).hasValue(3);
  }

  @Test
  void aTimeoutNamesWhatWasAwaitedAndWhatWasLastSeen() {
    AtomicInteger looks = new AtomicInteger();
    assertThatThrownBy(
            () ->
                Poll.until(
                    "job 42 RUNNING",
                    Duration.ofMillis(50),
                    Duration.ofMillis(5),
                    () -> {
                      looks.incrementAndGet();
                      return null;
                    },
                    () -> "CREATED after " + looks.get() + " looks"))
        .isInstanceOf(Poll.TimedOut.class)
        .hasMessageStartingWith("not job 42 RUNNING within 50 ms (last seen: CREATED after ")
        .hasMessageEndingWith(" looks)");
    assertThat(looks.get()).as("asked more than once before giving up").isGreaterThan(1);
  }

  @Test
  void aFailingLookEndsTheWaitWithItsReason() {
    assertThatThrownBy(
            () ->
                Poll.until(
                    "a file",
                    Duration.ofSeconds(10),
                    Duration.ofMillis(1),
                    () -> {
                      throw new java.io.IOException("disk gone");
                    }))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("while waiting for a file: disk gone");
  }

  @Test
  void settleReturnsTheFirstSettledLookOrTheLastOneAtTheTimeout() throws InterruptedException {
    AtomicInteger looks = new AtomicInteger();
    assertThat(
            Poll.settle(
                Duration.ofSeconds(10), Duration.ofMillis(1), looks::incrementAndGet, n -> n == 4))
        .isEqualTo(4);
    AtomicInteger never = new AtomicInteger();
    int last =
        Poll.settle(
            Duration.ofMillis(30), Duration.ofMillis(5), never::incrementAndGet, n -> false);
    assertThat(last).as("the last look, returned without failing").isEqualTo(never.get());
    assertThat(last).as("looked more than once").isGreaterThan(1);
    assertThat(Poll.settle(Duration.ZERO, Duration.ofMillis(5), () -> "once", value -> false))
        .as("a zero timeout looks once")
        .isEqualTo("once");
  }

  @Test
  void durationsReadAsPeopleWriteThem() {
    assertThat(Poll.format(Duration.ofMinutes(2))).isEqualTo("2 min");
    assertThat(Poll.format(Duration.ofSeconds(90))).isEqualTo("90 s");
    assertThat(Poll.format(Duration.ofMillis(1500))).isEqualTo("1500 ms");
  }
}
