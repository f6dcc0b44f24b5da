package dev.tally.bench;

import io.valkey.Jedis;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashMap;
import java.util.Map;

/**
 * Cost counters read off the servers themselves: Valkey's {@code INFO} (commands, script calls, CPU
 * seconds, memory) and PostgreSQL's {@code pg_stat_statements} (statements executed).
 */
final class StackProbe implements AutoCloseable {

  /** Counters at one moment; subtract two for what happened in between. */
  record Counters(
      long valkeyCommands,
      long valkeyScriptCalls,
      double valkeyCpuSeconds,
      long valkeyUsedMemory,
      long valkeyPeakMemory,
      long postgresStatements,
      long postgresRowsWritten) {}

  private final Jedis valkey;
  private final Connection postgres;

  StackProbe(String valkeyUri, String jdbcUrl, String user, String password) throws SQLException {
    this.valkey = new Jedis(java.net.URI.create(valkeyUri));
    this.postgres = DriverManager.getConnection(jdbcUrl, user, password);
    try (Statement statement = postgres.createStatement()) {
      statement.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
    }
  }

  Counters read() throws SQLException {
    Map<String, String> commandStats = section("commandstats");
    long commands = 0;
    long scripts = 0;
    for (Map.Entry<String, String> stat : commandStats.entrySet()) {
      long calls = Long.parseLong(field(stat.getValue(), "calls"));
      commands += calls;
      if (stat.getKey().equals("cmdstat_evalsha") || stat.getKey().equals("cmdstat_eval")) {
        scripts += calls;
      }
    }
    Map<String, String> cpu = section("cpu");
    double cpuSeconds =
        Double.parseDouble(cpu.get("used_cpu_user")) + Double.parseDouble(cpu.get("used_cpu_sys"));
    Map<String, String> memory = section("memory");
    long statements;
    long rows;
    try (Statement statement = postgres.createStatement()) {
      // The job's statements only: its user's, minus this probe's own queries.
      try (ResultSet result =
          statement.executeQuery(
              "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements"
                  + " WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
                  + " AND query NOT ILIKE '%pg_stat%'")) {
        result.next();
        statements = result.getLong(1);
      }
      try (ResultSet result =
          statement.executeQuery(
              "SELECT coalesce(sum(n_tup_ins + n_tup_upd), 0) FROM pg_stat_user_tables")) {
        result.next();
        rows = result.getLong(1);
      }
    }
    return new Counters(
        commands,
        scripts,
        cpuSeconds,
        Long.parseLong(memory.get("used_memory")),
        Long.parseLong(memory.get("used_memory_peak")),
        statements,
        rows);
  }

  /** Empties Valkey and the statement statistics: every run starts from the same point. */
  void reset() throws SQLException {
    valkey.flushAll();
    valkey.configResetStat();
    try (Statement statement = postgres.createStatement()) {
      statement.execute("SELECT pg_stat_statements_reset()");
    }
  }

  private Map<String, String> section(String name) {
    Map<String, String> values = new HashMap<>();
    for (String line : valkey.info(name).split("\r?\n")) {
      int colon = line.indexOf(':');
      if (colon > 0 && !line.startsWith("#")) {
        values.put(line.substring(0, colon), line.substring(colon + 1));
      }
    }
    return values;
  }

  /** {@code calls=12,usec=…} → the value of one field. */
  private static String field(String stat, String name) {
    for (String part : stat.split(",")) {
      if (part.startsWith(name + "=")) {
        return part.substring(name.length() + 1);
      }
    }
    return "0";
  }

  @Override
  public void close() throws SQLException {
    valkey.close();
    postgres.close();
  }
}
