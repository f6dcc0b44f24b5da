package dev.tally.cli;

import dev.tally.common.views.CacheWarmer;
import dev.tally.common.views.ValkeyEndpoint;
import dev.tally.common.views.ValkeyViewStore;
import dev.tally.common.views.ViewClient;
import dev.tally.common.views.ViewKeys;
import io.valkey.exceptions.JedisConnectionException;
import java.io.PrintWriter;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code tally cache}: whether Valkey holds a whole generation, and refilling it. */
@Command(
    name = "cache",
    mixinStandardHelpOptions = true,
    description =
        "Valkey as a cache of PostgreSQL: completeness per hash tag, and refilling it (docs/views.md).",
    subcommands = {CacheCommand.Status.class, CacheCommand.Warm.class})
final class CacheCommand {

  /** The stores, and which generation. */
  static final class Target {
    @picocli.CommandLine.Mixin ViewCommand.Stores stores;

    @Spec(Spec.Target.MIXEE)
    CommandSpec command;

    Integer generation;

    @Option(
        names = "--generation",
        description = "The generation (default: the one readers are served).")
    void generation(int value) {
      if (value < 1) {
        throw new picocli.CommandLine.ParameterException(
            command.commandLine(), "--generation must be >= 1, got " + value);
      }
      generation = value;
    }

    int generation() {
      if (generation != null) {
        return generation;
      }
      try (ViewClient client = stores.client()) {
        return client.generation();
      }
    }

    ValkeyEndpoint valkey() {
      return stores.endpoint();
    }
  }

  @Command(
      name = "status",
      mixinStandardHelpOptions = true,
      description = "Which of a generation's 64 hash tags Valkey holds whole (exit 1 if any not).")
  static final class Status implements Callable<Integer> {
    @Spec CommandSpec spec;
    @picocli.CommandLine.Mixin Target target;

    @Override
    public Integer call() {
      try {
        return status();
      } catch (JedisConnectionException e) {
        throw new IllegalStateException(
            "cannot reach Valkey at " + target.stores.valkey + ": " + e.getMessage());
      }
    }

    private int status() {
      PrintWriter out = spec.commandLine().getOut();
      int generation = target.generation();
      try (ValkeyViewStore store = new ValkeyViewStore(target.valkey(), generation, 1000)) {
        Set<Integer> missing = CacheWarmer.incompleteTags(store.client(), generation);
        if (missing.isEmpty()) {
          out.printf(
              "generation %d: complete in Valkey (all %d tags marked)%n",
              generation, ViewKeys.TAGS);
        } else {
          out.printf(
              "generation %d: %d of %d tags incomplete in Valkey %s: readers use PostgreSQL for"
                  + " them; the job refills them after three checkpoints, or run: tally cache warm%n",
              generation, missing.size(), ViewKeys.TAGS, missing);
        }
        out.flush();
        return missing.isEmpty() ? 0 : 1;
      }
    }
  }

  @Command(
      name = "warm",
      mixinStandardHelpOptions = true,
      description =
          "Refill a generation's incomplete tags (or all with --all) from PostgreSQL, then mark"
              + " them complete. Safe while the job runs: every partial goes through the version"
              + " guard.")
  static final class Warm implements Callable<Integer> {
    @Spec CommandSpec spec;
    @picocli.CommandLine.Mixin Target target;

    @Option(names = "--all", description = "Refill every tag, even those marked complete.")
    boolean all;

    @Override
    public Integer call() {
      try {
        return warm();
      } catch (JedisConnectionException e) {
        throw new IllegalStateException(
            "cannot reach Valkey at " + target.stores.valkey + ": " + e.getMessage());
      } catch (SQLException e) {
        throw new IllegalStateException(
            "cannot read PostgreSQL at " + target.stores.jdbcUrl + ": " + e.getMessage());
      }
    }

    private int warm() throws SQLException {
      PrintWriter out = spec.commandLine().getOut();
      if (target.stores.jdbcUrl == null || target.stores.jdbcUrl.isBlank()) {
        throw new IllegalArgumentException(
            "no PostgreSQL given: a warm-up reads it; pass --jdbc-url jdbc:postgresql://host:port/db"
                + " or set TALLY_JDBC_URL");
      }
      int generation = target.generation();
      try (ValkeyViewStore store = new ValkeyViewStore(target.valkey(), generation, 1000);
          Connection postgres =
              DriverManager.getConnection(
                  target.stores.jdbcUrl,
                  target.stores.jdbcUser,
                  System.getenv(dev.tally.common.Environment.PG_PASSWORD))) {
        Set<Integer> tags = new TreeSet<>();
        if (all) {
          for (int tag = 0; tag < ViewKeys.TAGS; tag++) {
            tags.add(tag);
          }
        } else {
          tags.addAll(CacheWarmer.incompleteTags(store.client(), generation));
        }
        if (tags.isEmpty()) {
          out.printf(
              "generation %d is complete in Valkey: nothing to warm (--all to redo)%n", generation);
          out.flush();
          return 0;
        }
        long started = System.nanoTime();
        out.printf("warming %d tags of generation %d from PostgreSQL …%n", tags.size(), generation);
        out.flush();
        CacheWarmer.Result result =
            CacheWarmer.warm(
                store,
                postgres,
                tags,
                rows -> {
                  out.printf("  %,d partials read%n", rows);
                  out.flush();
                });
        out.printf(
            "generation %d: %,d partials read, %,d of the warmed tags sent, %,d newer than"
                + " Valkey's; %d tags marked complete in %.1f s%n",
            generation,
            result.rows(),
            result.warmed(),
            result.applied(),
            result.marked().size(),
            (System.nanoTime() - started) / 1e9);
        if (!result.lostAgain().isEmpty()) {
          out.printf(
              "tags %s lost data again during the warm-up and stay unmarked: run it again%n",
              result.lostAgain());
        }
        out.flush();
        return result.lostAgain().isEmpty() ? 0 : 1;
      }
    }
  }
}
