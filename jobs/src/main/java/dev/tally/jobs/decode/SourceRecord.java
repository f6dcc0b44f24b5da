package dev.tally.jobs.decode;

import java.io.Serializable;

/** What the Kafka source emits: a decoded event, or a dead letter (exactly one is set). */
public class SourceRecord implements Serializable {

  private static final long serialVersionUID = 1L;

  public FoldEvent event;
  public DeadLetter deadLetter;

  public SourceRecord() {}

  public static SourceRecord of(FoldEvent event) {
    SourceRecord record = new SourceRecord();
    record.event = event;
    return record;
  }

  public static SourceRecord of(DeadLetter deadLetter) {
    SourceRecord record = new SourceRecord();
    record.deadLetter = deadLetter;
    return record;
  }

  /** Event time for watermarks: dead letters carry none and never move the watermark. */
  public long eventTime() {
    return event != null ? event.occurredAt : Long.MIN_VALUE;
  }
}
