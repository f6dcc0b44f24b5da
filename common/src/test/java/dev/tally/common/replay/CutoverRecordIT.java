package dev.tally.common.replay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tally.common.flink.JobArguments;
import dev.tally.common.views.ValkeyEndpoint;
import dev.tally.testing.ValkeyExtension;
import dev.tally.testing.ValkeyServer;
import io.valkey.UnifiedJedis;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The cutover record as rollback and status read it, against a real valkey-server. */
@ExtendWith(ValkeyExtension.class)
class CutoverRecordIT {

  @Test
  void whatACutoverSavesIsWhatRollbackLoadsAndANewOneReplacesItWhole(ValkeyServer valkey) {
    try (UnifiedJedis client = ValkeyEndpoint.parse(valkey.uri(), false, null).connect()) {
      client.del(CutoverRecord.KEY);
      assertThat(CutoverRecord.load(client)).as("nothing recorded yet").isEmpty();

      JobArguments args =
          new JobArguments(List.of("--generation", "1", "--valkey", "redis://127.0.0.1:1"));
      Instant at = Instant.parse("2026-12-04T01:30:00.123Z");
      new CutoverRecord(1, 2, "a1b2", "file:/savepoints/sp-1", args, at).save(client);
      client.hset(CutoverRecord.KEY, "leftover", "from an older record");
      new CutoverRecord(2, 3, "c3d4", "file:/savepoints/sp-2", args, at.plusSeconds(60))
          .save(client);

      CutoverRecord loaded = CutoverRecord.load(client).orElseThrow();
      assertThat(loaded.from()).isEqualTo(2);
      assertThat(loaded.to()).isEqualTo(3);
      assertThat(loaded.fromJob()).isEqualTo("c3d4");
      assertThat(loaded.fromSavepoint()).isEqualTo("file:/savepoints/sp-2");
      assertThat(loaded.fromArgs().list()).isEqualTo(args.list());
      assertThat(loaded.at()).isEqualTo(at.plusSeconds(60));
      assertThat(client.hkeys(CutoverRecord.KEY)).as("replaced whole").doesNotContain("leftover");
    }
  }

  @Test
  void aRecordMissingAFieldOrHoldingABadOneIsNamed(ValkeyServer valkey) {
    try (UnifiedJedis client = ValkeyEndpoint.parse(valkey.uri(), false, null).connect()) {
      client.del(CutoverRecord.KEY);
      client.hset(CutoverRecord.KEY, java.util.Map.of("from", "1", "to", "2"));
      assertThatThrownBy(() -> CutoverRecord.load(client))
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("has no field 'fromJob'");
      new CutoverRecord(1, 2, "j", "sp", new JobArguments(List.of()), Instant.now()).save(client);
      client.hset(CutoverRecord.KEY, "to", "two");
      assertThatThrownBy(() -> CutoverRecord.load(client))
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("does not parse")
          .hasMessageContaining("two");
      client.del(CutoverRecord.KEY);
    }
  }
}
