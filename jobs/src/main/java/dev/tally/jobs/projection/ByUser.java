package dev.tally.jobs.projection;

import dev.tally.jobs.decode.FoldEvent;
import org.apache.flink.api.java.functions.KeySelector;

/** Keys events by user: dedup and the user-keyed views share this partitioning. */
public final class ByUser implements KeySelector<FoldEvent, String> {

  private static final long serialVersionUID = 1L;

  @Override
  public String getKey(FoldEvent event) {
    return event.userId;
  }
}
