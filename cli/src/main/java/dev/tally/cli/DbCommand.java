package dev.tally.cli;

import dev.tally.common.views.PostgresViewStore;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.Callable;
import org.flywaydb.core.api.FlywayException;
import org.flywaydb.core.api.output.MigrateResult;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(
    name = "db",
    mixinStandardHelpOptions = true,
    description = "The PostgreSQL schema of the views (docs/views.md, docs/security.md).",
    subcommands = {DbCommand.Migrate.class})
final class DbCommand {

  @Command(
      name = "migrate",
      mixinStandardHelpOptions = true,
      description =
          "Bring the schema to the newest migration (Flyway; idempotent), as the schema's owner; with"
              + " --roles-file, then grant the least-privilege roles that file defines"
              + " (deploy/postgres/roles.sql). A job run with --no-migrate needs this first.")
  static final class Migrate implements Callable<Integer> {
    @Spec picocli.CommandLine.Model.CommandSpec spec;

    @Option(
        names = "--jdbc-url",
        defaultValue = "${env:TALLY_JDBC_URL}",
        description = "PostgreSQL (default: $TALLY_JDBC_URL).")
    String jdbcUrl;

    @Option(
        names = "--jdbc-user",
        defaultValue = "${env:TALLY_JDBC_USER:-tally}",
        description = "The schema's owner (default: $TALLY_JDBC_USER, else tally).")
    String jdbcUser;

    @Option(
        names = "--jdbc-password-file",
        description = "A file holding the owner's password (default: $TALLY_PG_PASSWORD).")
    Path passwordFile;

    @Option(
        names = "--roles-file",
        description = "SQL run after the migrations, e.g. deploy/postgres/roles.sql (idempotent).")
    Path rolesFile;

    @Override
    public Integer call() {
      if (jdbcUrl == null || jdbcUrl.isBlank()) {
        throw new IllegalArgumentException(
            "no PostgreSQL given: pass --jdbc-url jdbc:postgresql://host:port/db or set TALLY_JDBC_URL");
      }
      String password = password();
      String roles = null;
      if (rolesFile != null) {
        try {
          roles = Files.readString(rolesFile);
        } catch (IOException e) {
          throw new IllegalArgumentException("--roles-file " + rolesFile + " cannot be read: " + e);
        }
      }
      MigrateResult result;
      try {
        result = PostgresViewStore.migrate(jdbcUrl, jdbcUser, password);
      } catch (FlywayException e) {
        throw new IllegalStateException(
            "PostgreSQL at " + jdbcUrl + " as " + jdbcUser + ": " + firstLine(e), e);
      }
      spec.commandLine()
          .getOut()
          .printf(
              "schema at version %s (%d migration(s) applied now)%n",
              result.targetSchemaVersion == null
                  ? result.initialSchemaVersion
                  : result.targetSchemaVersion,
              result.migrationsExecuted);
      if (roles != null) {
        try (Connection connection = DriverManager.getConnection(jdbcUrl, jdbcUser, password);
            Statement statement = connection.createStatement()) {
          statement.execute(roles);
        } catch (SQLException e) {
          throw new IllegalStateException(
              "the roles in " + rolesFile + " were not granted: " + e.getMessage(), e);
        }
        spec.commandLine().getOut().printf("granted the roles of %s%n", rolesFile);
      }
      spec.commandLine().getOut().flush();
      return 0;
    }

    private String password() {
      if (passwordFile == null) {
        return System.getenv(dev.tally.common.Environment.PG_PASSWORD);
      }
      try {
        return Files.readString(passwordFile).strip();
      } catch (IOException e) {
        throw new IllegalArgumentException(
            "--jdbc-password-file " + passwordFile + " cannot be read: " + e);
      }
    }

    private static String firstLine(Throwable e) {
      Throwable root = e;
      while (root.getCause() != null) {
        root = root.getCause();
      }
      String message = root.getMessage() == null ? root.toString() : root.getMessage();
      return message.lines().findFirst().orElse(message);
    }
  }
}
