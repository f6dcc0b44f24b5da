package dev.tally.common.replay;

import dev.tally.common.flink.JobArguments;
import io.valkey.UnifiedJedis;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The last cutover, kept in Valkey ({@value #KEY}, a hash) beside the served pointer: which
 * generation readers left and which they were switched to, and how to bring the old one back (its
 * job's id, the savepoint it stopped with, its published arguments). Written right after the
 * switch, before anything else can fail; read by {@code tally replay rollback} and {@code status}.
 *
 * @param fromArgs the old job's arguments as it published them (secrets redacted)
 */
public record CutoverRecord(
    int from, int to, String fromJob, String fromSavepoint, JobArguments fromArgs, Instant at) {

  public static final String KEY = "tally:replay:last";

  private static final String FROM = "from";
  private static final String TO = "to";
  private static final String FROM_JOB = "fromJob";
  private static final String FROM_SAVEPOINT = "fromSavepoint";
  private static final String FROM_ARGS = "fromArgs";
  private static final String AT = "at";

  /** Replaces the recorded cutover with this one. */
  public void save(UnifiedJedis valkey) {
    Map<String, String> fields = new LinkedHashMap<>();
    fields.put(FROM, Integer.toString(from));
    fields.put(TO, Integer.toString(to));
    fields.put(FROM_JOB, fromJob);
    fields.put(FROM_SAVEPOINT, fromSavepoint);
    fields.put(FROM_ARGS, fromArgs.toParameters().get(JobArguments.KEY));
    fields.put(AT, at.toString());
    valkey.del(KEY);
    valkey.hset(KEY, fields);
  }

  /** Forgets the recorded cutover: nothing is left to roll back to. */
  public static void delete(UnifiedJedis valkey) {
    valkey.del(KEY);
  }

  /**
   * The recorded cutover, if any.
   *
   * @throws IllegalStateException when the record lacks a field or holds one that does not parse
   *     (written by hand, or by another version), naming the field
   */
  public static Optional<CutoverRecord> load(UnifiedJedis valkey) {
    Map<String, String> fields = valkey.hgetAll(KEY);
    if (fields.isEmpty()) {
      return Optional.empty();
    }
    String job = field(fields, FROM_JOB);
    try {
      return Optional.of(
          new CutoverRecord(
              Integer.parseInt(field(fields, FROM)),
              Integer.parseInt(field(fields, TO)),
              job,
              field(fields, FROM_SAVEPOINT),
              JobArguments.fromParameters(Map.of(JobArguments.KEY, field(fields, FROM_ARGS)), job),
              Instant.parse(field(fields, AT))));
    } catch (NumberFormatException | DateTimeParseException e) {
      throw new IllegalStateException(
          "the cutover record " + KEY + " does not parse (" + e.getMessage() + "): " + fields, e);
    }
  }

  private static String field(Map<String, String> fields, String name) {
    String value = fields.get(name);
    if (value == null) {
      throw new IllegalStateException(
          "the cutover record " + KEY + " has no field '" + name + "': " + fields.keySet());
    }
    return value;
  }
}
