package dev.tally.testing;

import io.valkey.Jedis;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A real {@code valkey-server} on a free loopback port, with no persistence, its files under {@code
 * target/}. One per test JVM through {@link ValkeyExtension}; tests keep to their own keys with
 * {@link #uniquePrefix}.
 */
public final class ValkeyServer implements AutoCloseable {

  private static final AtomicInteger PREFIX_COUNTER = new AtomicInteger();
  private static final Duration START_TIMEOUT = Duration.ofSeconds(30);

  private final int port;
  private final Path dir;
  private final TlsMaterial tls;
  private ServerProcess process;

  private ValkeyServer(int port, Path dir, TlsMaterial tls, ServerProcess process) {
    this.port = port;
    this.dir = dir;
    this.tls = tls;
    this.process = process;
  }

  /** Starts a standalone server. */
  public static ValkeyServer start() {
    ValkeyBinaries binaries = ValkeyBinaries.locate();
    Path dir = TestDirs.newDirectory("valkey");
    int port = FreePorts.next();
    ServerProcess process = launch(binaries, dir, port, List.of());
    return new ValkeyServer(port, dir, null, process);
  }

  /**
   * Starts a standalone server that speaks TLS only (no plain port), presenting {@code tls}'s
   * server certificate; clients need not present one. {@link #uri()} is then {@code rediss://}.
   */
  public static ValkeyServer startTls(TlsMaterial tls) {
    ValkeyBinaries binaries = ValkeyBinaries.locate();
    Path dir = TestDirs.newDirectory("valkey-tls");
    int port = FreePorts.next();
    List<String> command = new ArrayList<>();
    command.add(binaries.server().toString());
    command.addAll(
        List.of(
            "--port", "0",
            "--tls-port", Integer.toString(port),
            "--tls-cert-file", tls.serverCertificate().toString(),
            "--tls-key-file", tls.serverKey().toString(),
            "--tls-ca-cert-file", tls.caCertificate().toString(),
            "--tls-auth-clients", "no",
            // 127.0.0.2 too: an address the certificate does not name, for host-name checks.
            "--bind", "127.0.0.1 127.0.0.2",
            "--dir", dir.toString(),
            "--save", "",
            "--appendonly", "no",
            "--daemonize", "no",
            "--protected-mode", "no"));
    ServerProcess process =
        ServerProcess.start(
            "valkey-server:" + port + " (tls)", command, dir.resolve("valkey-" + port + ".log"));
    ValkeyServer server = new ValkeyServer(port, dir, tls, process);
    process.awaitReady(server::answersPingOverTls, START_TIMEOUT);
    return server;
  }

  private boolean answersPingOverTls() {
    try (Jedis jedis = client()) {
      return "PONG".equals(jedis.ping());
    } catch (RuntimeException notYet) {
      return false;
    }
  }

  /**
   * Launches {@code valkey-server} on {@code port} with {@code extraArgs} (e.g. cluster mode) and
   * waits until it answers {@code PING}.
   */
  static ServerProcess launch(ValkeyBinaries binaries, Path dir, int port, List<String> extraArgs) {
    List<String> command = new ArrayList<>();
    command.add(binaries.server().toString());
    command.addAll(
        List.of(
            "--port", Integer.toString(port),
            "--bind", "127.0.0.1",
            "--dir", dir.toString(),
            "--save", "",
            "--appendonly", "no",
            "--daemonize", "no",
            "--protected-mode", "no",
            "--loglevel", "notice"));
    command.addAll(extraArgs);
    ServerProcess process =
        ServerProcess.start(
            "valkey-server:" + port, command, dir.resolve("valkey-" + port + ".log"));
    process.awaitReady(() -> answersPing(port), START_TIMEOUT);
    return process;
  }

  static boolean answersPing(int port) {
    try (Jedis jedis = new Jedis("127.0.0.1", port, 500)) {
      return "PONG".equals(jedis.ping());
    } catch (RuntimeException notYet) {
      return false;
    }
  }

  public String host() {
    return "127.0.0.1";
  }

  public int port() {
    return port;
  }

  /** {@code redis://127.0.0.1:PORT} ({@code rediss://} with TLS), the form Tally's config takes. */
  public String uri() {
    return (tls == null ? "redis://" : "rediss://") + host() + ":" + port;
  }

  /** A new client (over TLS, trusting the test CA, for a TLS server); the caller closes it. */
  public Jedis client() {
    if (tls == null) {
      return new Jedis(host(), port);
    }
    return new Jedis(
        new io.valkey.HostAndPort(host(), port),
        io.valkey.DefaultJedisClientConfig.builder()
            .ssl(true)
            .sslSocketFactory(dev.tally.common.views.ValkeyEndpoint.socketFactory(tls.caPem()))
            .build());
  }

  /** The CA certificate a TLS server's certificate chains to; null for a plain server. */
  public Path caCertificate() {
    return tls == null ? null : tls.caCertificate();
  }

  /** A key prefix no other test of this JVM uses, e.g. {@code "lua-eval-3:"}. */
  public String uniquePrefix(String name) {
    return name + "-" + PREFIX_COUNTER.incrementAndGet() + ":";
  }

  /**
   * A planned restart: {@code SHUTDOWN SAVE} (every acknowledged write is in the snapshot), down
   * for {@code downtime}, then started again on the same port from that snapshot. For tests of what
   * clients do while Valkey is away.
   */
  public void restart(Duration downtime) {
    try (Jedis jedis = client()) {
      jedis.sendCommand(io.valkey.Protocol.Command.SHUTDOWN, "SAVE");
    } catch (RuntimeException expected) {
      // The server closes the connection as it exits.
    }
    if (!process.awaitExit(Duration.ofSeconds(30))) {
      throw new IllegalStateException(
          "valkey-server on port "
              + port
              + " did not shut down\n"
              + ServerProcess.tail(process.log()));
    }
    process.close();
    ServerProcess.sleep(downtime);
    process = launch(ValkeyBinaries.locate(), dir, port, List.of());
  }

  /**
   * A crash without persistence: the process is killed, its snapshot (if a planned restart left
   * one) deleted, and the server started again on the same port, empty.
   */
  public void crash(Duration downtime) {
    process.close();
    try {
      java.nio.file.Files.deleteIfExists(dir.resolve("dump.rdb"));
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    ServerProcess.sleep(downtime);
    process = launch(ValkeyBinaries.locate(), dir, port, List.of());
  }

  /**
   * A restart that brings back an older state: the process stops without saving, and starts again
   * from the last snapshot taken ({@code SAVE}), so whatever was written since is gone.
   */
  public void restartFromLastSnapshot(Duration downtime) {
    process.close();
    ServerProcess.sleep(downtime);
    process = launch(ValkeyBinaries.locate(), dir, port, List.of());
  }

  /** The server's process id. */
  public long pid() {
    return process.pid();
  }

  @Override
  public void close() {
    process.close();
  }
}
