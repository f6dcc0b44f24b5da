package dev.tally.common.views;

import io.valkey.ConnectionPool;
import io.valkey.Jedis;
import io.valkey.JedisCluster;
import io.valkey.UnifiedJedis;
import io.valkey.params.ScanParams;
import io.valkey.resps.ScanResult;
import java.util.function.Consumer;

/**
 * {@code SCAN} over every key matching a pattern, on one node or on every node of a cluster: a
 * cluster client's own {@code SCAN} reads a single node (the one owning the pattern's hash tag), so
 * a scan of a cluster must walk the nodes one by one.
 */
public final class ValkeyScan {

  private ValkeyScan() {}

  /** Gives {@code sink} every key matching {@code pattern}; a key may come more than once. */
  public static void keys(UnifiedJedis client, String pattern, Consumer<String> sink) {
    if (client instanceof JedisCluster cluster) {
      for (ConnectionPool pool : cluster.getClusterNodes().values()) {
        try (Jedis node = new Jedis(pool.getResource())) {
          if (node.info("replication").contains("role:slave")) {
            continue; // a replica's keys are its master's
          }
          scan(node::scan, pattern, sink);
        }
      }
    } else {
      scan(client::scan, pattern, sink);
    }
  }

  private interface Scanner {
    ScanResult<String> scan(String cursor, ScanParams params);
  }

  private static void scan(Scanner scanner, String pattern, Consumer<String> sink) {
    ScanParams params = new ScanParams().match(pattern).count(1000);
    String cursor = ScanParams.SCAN_POINTER_START;
    do {
      ScanResult<String> page = scanner.scan(cursor, params);
      page.getResult().forEach(sink);
      cursor = page.getCursor();
    } while (!cursor.equals(ScanParams.SCAN_POINTER_START));
  }
}
