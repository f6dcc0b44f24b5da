package dev.tally.testing;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * A real PostgreSQL server (Debian's {@code postgresql} package, installed by {@code make deps}) on
 * a free loopback port, its data directory under {@code target/}. One per test JVM through {@link
 * PostgresExtension}; each test works in its own schema from {@link #newSchema}.
 *
 * <p>PostgreSQL refuses to run as root. When the tests run as root (CI containers), the server is
 * started inside a fresh user namespace ({@code unshare -U}), where it runs as an unprivileged user
 * and still owns its data directory.
 */
public final class PostgresServer implements AutoCloseable {

  public static final String USER = "tally";
  public static final String DATABASE = "tally";
  public static final String INSTALL_COMMAND = "sudo apt-get install -y postgresql";

  private static final AtomicInteger SCHEMA_COUNTER = new AtomicInteger();
  private static final Duration START_TIMEOUT = Duration.ofSeconds(60);

  private final int port;
  private final List<String> command;
  private final Path log;
  private final TlsMaterial tls;
  private ServerProcess process;

  private PostgresServer(
      int port, List<String> command, Path log, TlsMaterial tls, ServerProcess process) {
    this.port = port;
    this.command = List.copyOf(command);
    this.log = log;
    this.tls = tls;
    this.process = process;
  }

  /** A schema of its own for one test, with a JDBC URL that selects it. */
  public record Schema(String name, String jdbcUrl, String user, String password) {
    public Connection connect() throws SQLException {
      return DriverManager.getConnection(jdbcUrl, user, password);
    }
  }

  /** Initialises a data directory, starts the server and creates the {@code tally} database. */
  public static PostgresServer start() {
    return start(null);
  }

  /**
   * As {@link #start()}, accepting TLS connections only when {@code tls} is given ({@code
   * pg_hba.conf}: {@code hostssl} trusted, anything else rejected), presenting {@code tls}'s server
   * certificate; {@link #jdbcUrl()} then asks for {@code sslmode=verify-full} against the test CA.
   */
  public static PostgresServer start(TlsMaterial tls) {
    Path bin = locateBinaries();
    Path dir = TestDirs.newDirectory(tls == null ? "postgres" : "postgres-tls");
    Path data = dir.resolve("data");
    Path log = dir.resolve("postgres.log");
    List<String> wrapper = runningAsRoot() ? List.of(locateUnshare(), "-U") : List.of();

    List<String> initdb = new ArrayList<>(wrapper);
    initdb.addAll(
        List.of(
            bin.resolve("initdb").toString(),
            "-D",
            data.toString(),
            "-U",
            USER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync"));
    ServerProcess.runToCompletion("initdb", initdb, log, START_TIMEOUT);
    if (tls != null) {
      try {
        Files.writeString(
            data.resolve("pg_hba.conf"),
            "# TLS only: a plain connection is refused\n"
                + "hostssl all all 127.0.0.1/32 trust\n"
                + "host    all all 127.0.0.1/32 reject\n");
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    int port = FreePorts.next();
    List<String> postgres = new ArrayList<>(wrapper);
    postgres.addAll(
        List.of(
            bin.resolve("postgres").toString(),
            "-D",
            data.toString(),
            "-p",
            Integer.toString(port),
            "-c",
            "listen_addresses=127.0.0.1",
            // TCP only: a socket path under a deep target/ would exceed the 107-byte limit.
            "-c",
            "unix_socket_directories=",
            // Test data is disposable; durability would only cost time.
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
            "-c",
            "max_connections=200"));
    if (tls != null) {
      postgres.addAll(
          List.of(
              "-c", "ssl=on",
              "-c", "ssl_cert_file=" + tls.serverCertificate(),
              "-c", "ssl_key_file=" + tls.serverKey()));
    }
    ServerProcess process = ServerProcess.start("postgres:" + port, postgres, log);
    String tlsParameters = tls == null ? "" : sslParameters(tls);
    process.awaitReady(() -> accepts(port, "postgres", tlsParameters), START_TIMEOUT);
    PostgresServer server = new PostgresServer(port, postgres, log, tls, process);
    server.execute("postgres", "CREATE DATABASE " + DATABASE);
    return server;
  }

  private static String sslParameters(TlsMaterial tls) {
    return "sslmode=verify-full&sslrootcert=" + tls.caCertificate();
  }

  public String host() {
    return "127.0.0.1";
  }

  public int port() {
    return port;
  }

  /** The JDBC URL of the {@code tally} database (public schema). */
  public String jdbcUrl() {
    return jdbcUrl(DATABASE);
  }

  /** Creates a schema no other test of this JVM uses. */
  public Schema newSchema(String prefix) {
    String name =
        (prefix + "_" + SCHEMA_COUNTER.incrementAndGet())
            .toLowerCase()
            .replaceAll("[^a-z0-9_]", "_");
    execute(DATABASE, "CREATE SCHEMA " + name);
    String url = jdbcUrl(DATABASE);
    return new Schema(
        name, url + (url.contains("?") ? "&" : "?") + "currentSchema=" + name, USER, "");
  }

  /**
   * Makes the server unreachable for {@code downtime}: a fast shutdown (open connections are
   * dropped), then a start on the same port and data directory.
   */
  public void outage(Duration downtime) {
    if (!process.signalAndWait("INT", Duration.ofSeconds(30))) {
      throw new IllegalStateException("postgres did not stop\n" + ServerProcess.tail(log));
    }
    ServerProcess.sleep(downtime);
    process = ServerProcess.start("postgres:" + port, command, log);
    String tlsParameters = tls == null ? "" : sslParameters(tls);
    process.awaitReady(() -> accepts(port, "postgres", tlsParameters), START_TIMEOUT);
  }

  @Override
  public void close() {
    process.close();
  }

  private String jdbcUrl(String database) {
    return "jdbc:postgresql://"
        + host()
        + ":"
        + port
        + "/"
        + database
        + (tls == null ? "" : "?" + sslParameters(tls));
  }

  private void execute(String database, String sql) {
    try (Connection connection = DriverManager.getConnection(jdbcUrl(database), USER, "");
        Statement statement = connection.createStatement()) {
      statement.execute(sql);
    } catch (SQLException e) {
      throw new IllegalStateException("PostgreSQL rejected: " + sql, e);
    }
  }

  private static boolean accepts(int port, String database, String parameters) {
    try (Connection ignored =
        DriverManager.getConnection(
            "jdbc:postgresql://127.0.0.1:"
                + port
                + "/"
                + database
                + (parameters.isEmpty() ? "" : "?" + parameters),
            USER,
            "")) {
      return true;
    } catch (SQLException notYet) {
      return false;
    }
  }

  /** Debian's newest {@code /usr/lib/postgresql/N/bin}, else {@code initdb} on the PATH. */
  static Path locateBinaries() {
    Path debian = Path.of("/usr/lib/postgresql");
    if (Files.isDirectory(debian)) {
      try (Stream<Path> versions = Files.list(debian)) {
        Optional<Path> newest =
            versions
                .filter(v -> v.getFileName().toString().matches("\\d+"))
                .filter(v -> Files.isExecutable(v.resolve("bin/postgres")))
                .max(Comparator.comparingInt(v -> Integer.parseInt(v.getFileName().toString())));
        if (newest.isPresent()) {
          return newest.get().resolve("bin");
        }
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
      if (!dir.isBlank()
          && Files.isExecutable(Path.of(dir, "initdb"))
          && Files.isExecutable(Path.of(dir, "postgres"))) {
        return Path.of(dir);
      }
    }
    throw new IllegalStateException(
        "PostgreSQL server binaries (initdb, postgres) not found under /usr/lib/postgresql or on PATH."
            + " Tally's tests run a real PostgreSQL. Install it with `make deps`, or by hand:\n  "
            + INSTALL_COMMAND);
  }

  private static boolean runningAsRoot() {
    return "root".equals(System.getProperty("user.name"));
  }

  private static String locateUnshare() {
    for (String candidate : List.of("/usr/bin/unshare", "/bin/unshare")) {
      if (Files.isExecutable(Path.of(candidate))) {
        return candidate;
      }
    }
    throw new IllegalStateException(
        "running as root, PostgreSQL needs `unshare` (util-linux) to run unprivileged; install util-linux");
  }
}
