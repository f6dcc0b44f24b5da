package dev.tally.common.views;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tally.testing.PostgresExtension;
import dev.tally.testing.PostgresServer;
import dev.tally.testing.ValkeyExtension;
import dev.tally.testing.ValkeyServer;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The read path an API layer uses: Valkey first, PostgreSQL when Valkey misses. */
@ExtendWith({ValkeyExtension.class, PostgresExtension.class})
class ViewClientIT {

  private static final int GENERATION = 1;

  @Test
  void readsValkeyFirstAndFallsBackToPostgresOnAMiss(ValkeyServer valkey, PostgresServer postgres)
      throws Exception {
    PostgresServer.Schema schema = postgres.newSchema("client");
    PostgresViewStore.migrate(schema.jdbcUrl(), schema.user(), schema.password());
    ValkeyEndpoint endpoint = ValkeyEndpoint.parse(valkey.uri(), false, null);
    String user = valkey.uniquePrefix("client").replace(":", "");
    String hunt = "hunt-" + user;
    ViewUpdate hot = ValkeyViewStoreContract.score(user + "-hot", "live/p0", 1, 10, 100);
    ViewUpdate cold = ValkeyViewStoreContract.score(user + "-cold", "live/p0", 2, 20, 200);
    try (ValkeyViewStore store = new ValkeyViewStore(endpoint, GENERATION, 100)) {
      store.apply(List.of(hot));
    }
    try (Connection connection = schema.connect();
        PreparedStatement upsert = connection.prepareStatement(PostgresViewStore.UPSERT)) {
      for (ViewUpdate update :
          List.of(
              hot,
              cold,
              ValkeyViewStoreContract.board(hunt, "a", "live/p0", 1, 5),
              ValkeyViewStoreContract.board(hunt, "b", "live/p0", 1, 9))) {
        PostgresViewStore.bind(upsert, update, GENERATION);
        upsert.addBatch();
      }
      upsert.executeBatch();
    }

    try (ViewClient client =
        new ViewClient(endpoint, schema.jdbcUrl(), schema.user(), schema.password())) {
      ViewClient.Entry fromValkey = client.entry("user_score", user + "-hot");
      ViewClient.Entry fromPostgres = client.entry("user_score", user + "-cold");
      ViewClient.Entry missing = client.entry("user_score", user + "-nobody");

      assertThat(fromValkey.source()).isEqualTo(ViewClient.Source.VALKEY);
      assertThat(fromValkey.fields()).containsEntry("points", 10L);
      assertThat(fromPostgres.source()).isEqualTo(ViewClient.Source.POSTGRES);
      assertThat(fromPostgres.fields())
          .isEqualTo(Map.of("points", 20L, "events", 2L, "last_activity_ms", 200L));
      assertThat(missing.source()).isEqualTo(ViewClient.Source.NONE);
      assertThat(client.top("leaderboard", hunt, 10))
          .containsExactly(new ViewClient.Standing("b", 9), new ViewClient.Standing("a", 5));
    }
  }
}
