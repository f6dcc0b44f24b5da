package dev.tally.common.generator;

/** What the load generator meant a record to be. */
public enum RecordKind {
  /** A new event, its {@code occurred_at} on the generator's clock. */
  ON_TIME(false),
  /** A new event whose {@code occurred_at} is a little behind (within the out-of-order bound). */
  OUT_OF_ORDER(false),
  /** A new event whose {@code occurred_at} is far behind (minutes): late for event-time views. */
  LATE(false),
  /** An earlier event re-sent byte for byte (same {@code event_id}), as a producer retry would. */
  DUPLICATE(false),
  /** Random bytes. */
  MALFORMED_RANDOM(true),
  /** A valid encoding cut short. */
  MALFORMED_TRUNCATED(true),
  /** A valid body behind a schema fingerprint no version has. */
  MALFORMED_UNKNOWN_SCHEMA(true);

  private final boolean malformed;

  RecordKind(boolean malformed) {
    this.malformed = malformed;
  }

  public boolean malformed() {
    return malformed;
  }

  /** True for the kinds that carry an event seen for the first time. */
  public boolean newEvent() {
    return this == ON_TIME || this == OUT_OF_ORDER || this == LATE;
  }
}
