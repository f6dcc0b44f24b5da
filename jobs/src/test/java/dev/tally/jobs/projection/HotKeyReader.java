package dev.tally.jobs.projection;

import io.valkey.UnifiedJedis;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

/** Polls one entry and notes every time its version or points went down. */
final class HotKeyReader implements Runnable {
  final AtomicBoolean stop = new AtomicBoolean();
  final List<String> backwards = new ArrayList<>();
  int distinctVersions;
  private final UnifiedJedis jedis;
  private final String key;

  HotKeyReader(UnifiedJedis jedis, String key) {
    this.jedis = jedis;
    this.key = key;
  }

  @Override
  public void run() {
    long lastVersion = -1;
    long lastPoints = -1;
    try (jedis) {
      while (!stop.get()) {
        Map<String, String> entry = jedis.hgetAll(key);
        if (!entry.isEmpty()) {
          long version = Long.parseLong(entry.get("_v"));
          long points = Long.parseLong(entry.get("points"));
          if (version < lastVersion || points < lastPoints) {
            backwards.add(
                "version "
                    + lastVersion
                    + " -> "
                    + version
                    + ", points "
                    + lastPoints
                    + " -> "
                    + points);
          }
          if (version != lastVersion) {
            distinctVersions++;
          }
          lastVersion = version;
          lastPoints = points;
        }
        Thread.onSpinWait();
      }
    }
  }
}
