package dev.tally.common.events;

/**
 * Bytes that are not a usable event. The {@link Reason} says why; readers send such records to the
 * dead-letter topic with {@link Reason#code()} as the reason, and never fail on them.
 */
public final class EventDecodingException extends Exception {

  private static final long serialVersionUID = 1L;

  /** Why a record could not be decoded. */
  public enum Reason {
    /** Not Avro single-object encoding: too short, or the two marker bytes are wrong. */
    BAD_HEADER("bad-header"),
    /** Single-object encoded, but with a schema fingerprint no shipped version has. */
    UNKNOWN_SCHEMA("unknown-schema"),
    /** A known schema, but the body does not decode (truncated or garbled). */
    CORRUPT("corrupt"),
    /** Decodes, but breaks the envelope's rules (e.g. the payload does not match the type). */
    INVALID("invalid");

    private final String code;

    Reason(String code) {
      this.code = code;
    }

    /** The stable, lower-case code written to dead-letter headers and metrics. */
    public String code() {
      return code;
    }
  }

  private final Reason reason;

  public EventDecodingException(Reason reason, String message, Throwable cause) {
    super(reason.code() + ": " + message, cause);
    this.reason = reason;
  }

  public Reason reason() {
    return reason;
  }
}
