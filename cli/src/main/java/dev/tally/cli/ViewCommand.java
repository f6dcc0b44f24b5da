package dev.tally.cli;

import dev.tally.common.views.ValkeyEndpoint;
import dev.tally.common.views.ViewCatalog;
import dev.tally.common.views.ViewClient;
import java.io.PrintWriter;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code tally view}: read the served views the way an API layer does. */
@Command(
    name = "view",
    mixinStandardHelpOptions = true,
    description =
        "Read a served view: Valkey when it holds the entry's whole hash tag, else PostgreSQL (docs/views.md).",
    subcommands = {ViewCommand.Score.class, ViewCommand.Top.class, ViewCommand.Activity.class})
final class ViewCommand {

  /** Where the views are. */
  static final class Stores {
    @Option(
        names = "--valkey",
        defaultValue = "${env:TALLY_VALKEY}",
        description =
            "Valkey, redis://[user[:password]@]host:port[,…], rediss:// for TLS (default: $TALLY_VALKEY; the local stack's is redis://127.0.0.1:6380).")
    String valkey;

    @Option(
        names = "--valkey-ca-file",
        defaultValue = "${env:TALLY_VALKEY_CA_FILE}",
        description =
            "PEM file of the CA(s) a TLS Valkey's certificate must chain to (default:"
                + " $TALLY_VALKEY_CA_FILE, else the JVM's trust store).")
    String valkeyCaFile;

    @Option(
        names = "--jdbc-url",
        defaultValue = "${env:TALLY_JDBC_URL}",
        description = "PostgreSQL for misses (default: $TALLY_JDBC_URL; none: Valkey only).")
    String jdbcUrl;

    @Option(
        names = "--jdbc-user",
        defaultValue = "${env:TALLY_JDBC_USER:-tally}",
        description = "PostgreSQL user (default: $TALLY_JDBC_USER, else tally).")
    String jdbcUser;

    ValkeyEndpoint endpoint() {
      if (valkey == null || valkey.isBlank()) {
        throw new IllegalArgumentException(
            "no Valkey given: pass --valkey redis://host:port (the local stack's is redis://127.0.0.1:6380) or set TALLY_VALKEY");
      }
      return ValkeyEndpoint.parse(
              valkey, false, System.getenv(dev.tally.common.Environment.VALKEY_PASSWORD))
          .withCaFile(valkeyCaFile);
    }

    ViewClient client() {
      return new ViewClient(
          endpoint(), jdbcUrl, jdbcUser, System.getenv(dev.tally.common.Environment.PG_PASSWORD));
    }
  }

  /** Which generation to read: the served one, or another (a rebuild's, before its cutover). */
  static final class Generation {
    @Option(
        names = "--generation",
        defaultValue = "0",
        description =
            "Read this generation instead of the served one, e.g. a rebuild's before its cutover"
                + " (default: the served generation).")
    int generation;

    int resolve(ViewClient client) {
      if (generation < 0) {
        throw new IllegalArgumentException("--generation must be >= 1, got " + generation);
      }
      return generation == 0 ? client.generation() : generation;
    }
  }

  static void print(PrintWriter out, String what, ViewClient.Entry entry) {
    if (entry.source() == ViewClient.Source.NONE) {
      out.printf("%s: not found (Valkey key %s)%n", what, entry.valkeyKey());
    } else {
      out.printf(
          "%s (from %s, version %,d, Valkey key %s)%n",
          what, entry.source().name().toLowerCase(), entry.version(), entry.valkeyKey());
      entry
          .fields()
          .forEach(
              (field, value) ->
                  out.printf(
                      "  %-18s %,d%s%n",
                      field,
                      value,
                      field.endsWith("_ms") ? "  (" + Instant.ofEpochMilli(value) + ")" : ""));
    }
    out.flush();
  }

  @Command(
      name = "user-score",
      mixinStandardHelpOptions = true,
      description = "A user's points, events and last activity.")
  static final class Score implements Callable<Integer> {
    @Spec CommandSpec spec;
    @picocli.CommandLine.Mixin Stores stores;

    @picocli.CommandLine.Mixin Generation generation;

    @Parameters(paramLabel = "USER", description = "The user id, e.g. user-0.")
    String user;

    @Override
    public Integer call() {
      try (ViewClient client = stores.client()) {
        ViewClient.Entry entry =
            client.entry(generation.resolve(client), ViewCatalog.USER_SCORE.id(), user);
        print(
            spec.commandLine().getOut(),
            "user_score " + user + ", generation " + entry.generation(),
            entry);
        return entry.source() == ViewClient.Source.NONE ? 1 : 0;
      }
    }
  }

  @Command(
      name = "leaderboard",
      mixinStandardHelpOptions = true,
      description = "A hunt's top users by points.")
  static final class Top implements Callable<Integer> {
    @Spec CommandSpec spec;
    @picocli.CommandLine.Mixin Stores stores;

    @Parameters(paramLabel = "HUNT", description = "The hunt id, e.g. hunt-0.")
    String hunt;

    @Option(
        names = {"-n", "--top"},
        defaultValue = "10",
        description = "How many (default: ${DEFAULT-VALUE}).")
    int top;

    @picocli.CommandLine.Mixin Generation chosen;

    @Override
    public Integer call() {
      if (top < 1) {
        throw new IllegalArgumentException("--top must be >= 1, got " + top);
      }
      PrintWriter out = spec.commandLine().getOut();
      try (ViewClient client = stores.client()) {
        int generation = chosen.resolve(client);
        ViewClient.Ranking ranking =
            client.ranking(generation, ViewCatalog.LEADERBOARD.id(), hunt, top);
        List<ViewClient.Standing> standings = ranking.standings();
        out.printf(
            "leaderboard %s, generation %d, top %d (from %s; Valkey sorted set %s)%n",
            hunt,
            generation,
            top,
            ranking.source().name().toLowerCase(),
            dev.tally.common.views.ViewKeys.rank(generation, ViewCatalog.LEADERBOARD.id(), hunt));
        for (int i = 0; i < standings.size(); i++) {
          out.printf(
              "  %2d. %-16s %,12d points%n",
              i + 1, standings.get(i).member(), standings.get(i).score());
        }
        out.flush();
        return standings.isEmpty() ? 1 : 0;
      }
    }
  }

  @Command(
      name = "activity",
      mixinStandardHelpOptions = true,
      description = "How many events of a type happened in a minute (event time).")
  static final class Activity implements Callable<Integer> {
    @Spec CommandSpec spec;
    @picocli.CommandLine.Mixin Stores stores;

    @Parameters(index = "0", paramLabel = "TYPE", description = "Event type, e.g. CHECKIN.")
    String type;

    @Parameters(
        index = "1",
        paramLabel = "MINUTE",
        description = "Minute start, ISO-8601, e.g. 2026-01-01T00:05:00Z.")
    String minute;

    @picocli.CommandLine.Mixin Generation generation;

    @Override
    public Integer call() {
      Instant start;
      try {
        start = Instant.parse(minute);
      } catch (java.time.format.DateTimeParseException e) {
        throw new IllegalArgumentException(
            "MINUTE must be an ISO-8601 instant such as 2026-01-01T00:05:00Z, got '"
                + minute
                + "'");
      }
      try (ViewClient client = stores.client()) {
        String key = ViewCatalog.activityKey(type.toUpperCase(), start.toString());
        ViewClient.Entry entry =
            client.entry(generation.resolve(client), ViewCatalog.ACTIVITY.id(), key);
        print(spec.commandLine().getOut(), "activity " + key, entry);
        return entry.source() == ViewClient.Source.NONE ? 1 : 0;
      }
    }
  }
}
