package dev.tally.common.views;

import io.valkey.AbstractPipeline;
import io.valkey.Response;
import io.valkey.UnifiedJedis;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;

/** Reads of many keys, pipelined in batches (on a cluster, the client splits each by node). */
public final class PipelinedReads {

  private static final int BATCH = 500;

  private PipelinedReads() {}

  /** Every field of each hash, in the order of {@code keys} (empty for a missing key). */
  public static List<Map<String, String>> hashes(UnifiedJedis valkey, List<String> keys) {
    return read(valkey, keys, AbstractPipeline::hgetAll);
  }

  /** The members of each sorted set, lowest score first (empty for a missing key). */
  public static List<List<String>> members(UnifiedJedis valkey, List<String> keys) {
    return read(valkey, keys, (pipeline, key) -> pipeline.zrange(key, 0, -1));
  }

  private static <T> List<T> read(
      UnifiedJedis valkey,
      List<String> keys,
      BiFunction<AbstractPipeline, String, Response<T>> command) {
    List<T> values = new ArrayList<>(keys.size());
    for (int from = 0; from < keys.size(); from += BATCH) {
      List<String> batch = keys.subList(from, Math.min(keys.size(), from + BATCH));
      List<Response<T>> responses = new ArrayList<>(batch.size());
      try (AbstractPipeline pipeline = valkey.pipelined()) {
        batch.forEach(key -> responses.add(command.apply(pipeline, key)));
        pipeline.sync();
      }
      responses.forEach(response -> values.add(response.get()));
    }
    return values;
  }
}
