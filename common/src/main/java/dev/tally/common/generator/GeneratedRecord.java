package dev.tally.common.generator;

import dev.tally.events.Event;

/**
 * One record the load generator produced, ready to send.
 *
 * @param event the event the bytes encode; null for malformed records
 */
public record GeneratedRecord(
    String topic, String key, byte[] value, RecordKind kind, Event event) {}
