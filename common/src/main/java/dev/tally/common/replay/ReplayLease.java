package dev.tally.common.replay;

import io.valkey.UnifiedJedis;
import io.valkey.params.SetParams;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * One replay at a time: a lease in Valkey ({@value #KEY}) that every operation changing jobs or
 * generations holds while it runs. It names its holder (operation, user, host, process, since),
 * expires by itself when the holder dies, and is renewed while the holder lives; a second operation
 * is refused with who holds it and since when.
 */
public final class ReplayLease implements AutoCloseable {

  public static final String KEY = "tally:replay:lease";

  /** How long a lease outlives a holder that stopped renewing it. */
  public static final Duration TTL = Duration.ofMinutes(2);

  private static final String RENEW =
      "if redis.call('GET', KEYS[1]) == ARGV[1] then"
          + " return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end";
  private static final String RELEASE =
      "if redis.call('GET', KEYS[1]) == ARGV[1] then"
          + " return redis.call('DEL', KEYS[1]) else return 0 end";

  private final UnifiedJedis valkey;
  private final String value;
  private final ScheduledExecutorService renewer;

  private ReplayLease(UnifiedJedis valkey, String value, Duration ttl) {
    this.valkey = valkey;
    this.value = value;
    this.renewer =
        Executors.newSingleThreadScheduledExecutor(
            runnable -> {
              Thread thread = new Thread(runnable, "replay-lease");
              thread.setDaemon(true);
              return thread;
            });
    long every = Math.max(1, ttl.toMillis() / 4);
    renewer.scheduleWithFixedDelay(
        () -> {
          try {
            valkey.eval(RENEW, List.of(KEY), List.of(value, Long.toString(ttl.toMillis())));
          } catch (RuntimeException e) {
            // Valkey unreachable for a moment: the next renewal tries again before the TTL ends.
          }
        },
        every,
        every,
        TimeUnit.MILLISECONDS);
  }

  /** Takes the lease for {@code operation}, or refuses naming who holds it. */
  public static ReplayLease acquire(UnifiedJedis valkey, String operation) {
    return acquire(valkey, operation, TTL);
  }

  static ReplayLease acquire(UnifiedJedis valkey, String operation, Duration ttl) {
    String value = holder(operation) + " #" + UUID.randomUUID();
    String reply = valkey.set(KEY, value, SetParams.setParams().nx().px(ttl.toMillis()));
    if (!"OK".equals(reply)) {
      String held = valkey.get(KEY);
      long left = valkey.pttl(KEY);
      throw new IllegalStateException(
          "another replay is running: "
              + (held == null ? "(just ended)" : held.replaceFirst(" #[0-9a-f-]+$", ""))
              + "; one replay at a time. Wait for it to end"
              + (left > 0
                  ? ", or, if that process is gone, for its lease ("
                      + KEY
                      + ") to expire in "
                      + Duration.ofMillis(left).toSeconds()
                      + " s"
                  : "")
              + ".");
    }
    return new ReplayLease(valkey, value, ttl);
  }

  /** Who holds the lease, without its token: null when none does. */
  public static String holder(UnifiedJedis valkey) {
    String held = valkey.get(KEY);
    return held == null ? null : held.replaceFirst(" #[0-9a-f-]+$", "");
  }

  private static String holder(String operation) {
    String host;
    try {
      host = InetAddress.getLocalHost().getHostName();
    } catch (java.io.IOException e) {
      host = "unknown host";
    }
    return operation
        + " by "
        + System.getProperty("user.name")
        + "@"
        + host
        + " (pid "
        + ManagementFactory.getRuntimeMXBean().getPid()
        + ") since "
        + Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS);
  }

  /** Gives the lease back (only if it is still this holder's). */
  @Override
  public void close() {
    renewer.shutdownNow();
    try {
      valkey.eval(RELEASE, List.of(KEY), List.of(value));
    } catch (RuntimeException e) {
      // Unreachable: the lease expires by itself within its TTL.
    }
  }
}
