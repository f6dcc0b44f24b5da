package dev.tally.jobs.views;

import dev.tally.common.views.ViewUpdate;
import dev.tally.jobs.decode.FoldEvent;

/**
 * A view that counts events per entry of its own key (not the user), e.g. per event type and
 * minute. Each lane's projection operator counts the bundle's events per entry and sends one delta
 * per entry over a shuffle by entry key; {@link CountPerEntry} adds the deltas up. The count is the
 * version, so version N always has value N whatever order the deltas came in.
 */
public interface CountView extends View {

  /** The entry an event counts in, or null when it counts in none. */
  String entryKey(FoldEvent event);

  /**
   * The event time from which the entry takes no more events: once the watermark passes it, its
   * state is dropped. Must agree with {@link #refusal}: an event read where its partition's clock
   * is at or past this time is refused, so no delta can arrive for a dropped entry.
   */
  long closesAt(String entryKey, ViewContext context);

  /** The update that writes an entry's count (without its source timestamp). */
  ViewUpdate update(String entryKey, long count, ViewContext context);
}
