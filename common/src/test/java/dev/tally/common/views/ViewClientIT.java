package dev.tally.common.views;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tally.testing.FreePorts;
import dev.tally.testing.PostgresExtension;
import dev.tally.testing.PostgresServer;
import dev.tally.testing.ValkeyExtension;
import dev.tally.testing.ValkeyServer;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The read path an API layer uses: Valkey while it holds an entry's whole tag, PostgreSQL while it
 * does not or is down, never a partial entry.
 */
@ExtendWith({ValkeyExtension.class, PostgresExtension.class})
class ViewClientIT {

  private static final AtomicInteger GENERATIONS = new AtomicInteger(900);

  private int generation;
  private PostgresServer.Schema schema;
  private ValkeyEndpoint endpoint;
  private String user;
  private String hunt;

  @BeforeEach
  void storesHoldingOneEntryEach(ValkeyServer valkey, PostgresServer postgres) throws Exception {
    generation = GENERATIONS.incrementAndGet();
    schema = postgres.newSchema("client");
    PostgresViewStore.migrate(schema.jdbcUrl(), schema.user(), schema.password());
    endpoint = ValkeyEndpoint.parse(valkey.uri(), false, null);
    user = valkey.uniquePrefix("client").replace(":", "");
    hunt = "hunt-" + user;
    // PostgreSQL has both lanes' partials of the user; Valkey, as after a loss, only lane p0's.
    ViewUpdate p0 = ValkeyViewStoreContract.score(user, "live/p0", 2, 10, 100);
    ViewUpdate p1 = ValkeyViewStoreContract.score(user, "live/p1", 1, 5, 300);
    try (ValkeyViewStore store = new ValkeyViewStore(endpoint, generation, 100)) {
      store.apply(List.of(p0, ValkeyViewStoreContract.board(hunt, "a", "live/p0", 1, 5)));
    }
    try (Connection connection = schema.connect();
        PreparedStatement upsert = connection.prepareStatement(PostgresViewStore.UPSERT)) {
      for (ViewUpdate update :
          List.of(
              p0,
              p1,
              ValkeyViewStoreContract.board(hunt, "a", "live/p0", 1, 5),
              ValkeyViewStoreContract.board(hunt, "b", "live/p0", 1, 9))) {
        PostgresViewStore.bind(upsert, update, generation);
        upsert.addBatch();
      }
      upsert.executeBatch();
    }
  }

  private ViewClient client() {
    return new ViewClient(endpoint, schema.jdbcUrl(), schema.user(), schema.password());
  }

  @Test
  void anIncompleteTagIsReadFromPostgresUntilAWarmUpMarksItComplete() throws Exception {
    Map<String, Long> whole = Map.of("points", 15L, "events", 3L, "last_activity_ms", 300L);
    try (ViewClient client = client()) {
      ViewClient.Entry incomplete = client.entry(generation, "user_score", user);
      assertThat(incomplete.source())
          .as("Valkey holds only one lane's partial, and no marker")
          .isEqualTo(ViewClient.Source.POSTGRES);
      assertThat(incomplete.fields()).isEqualTo(whole);
      assertThat(incomplete.version()).isEqualTo(3);
      assertThat(client.ranking(generation, "leaderboard", hunt, 10))
          .isEqualTo(
              new ViewClient.Ranking(
                  ViewClient.Source.POSTGRES,
                  generation,
                  List.of(new ViewClient.Standing("b", 9), new ViewClient.Standing("a", 5))));

      CacheWarmer.Result warmed;
      try (ValkeyViewStore store = new ValkeyViewStore(endpoint, generation, 100);
          Connection connection = schema.connect()) {
        Set<Integer> missing = CacheWarmer.incompleteTags(store.client(), generation);
        assertThat(missing).hasSize(ViewKeys.TAGS);
        warmed = CacheWarmer.warm(store, connection, missing, null);
        assertThat(CacheWarmer.incompleteTags(store.client(), generation)).isEmpty();
      }
      assertThat(warmed.rows()).isEqualTo(4);
      assertThat(warmed.applied()).as("p1's partial and b's entry were missing").isEqualTo(2);
      assertThat(warmed.marked()).hasSize(ViewKeys.TAGS);

      ViewClient.Entry complete = client.entry(generation, "user_score", user);
      assertThat(complete.source()).isEqualTo(ViewClient.Source.VALKEY);
      assertThat(complete.fields()).isEqualTo(whole);
      assertThat(complete.version()).isEqualTo(3);
      assertThat(client.ranking(generation, "leaderboard", hunt, 10))
          .isEqualTo(
              new ViewClient.Ranking(
                  ViewClient.Source.VALKEY,
                  generation,
                  List.of(new ViewClient.Standing("b", 9), new ViewClient.Standing("a", 5))));
      ViewClient.Entry missing = client.entry(generation, "user_score", user + "-nobody");
      assertThat(missing.source()).isEqualTo(ViewClient.Source.NONE);
    }
  }

  @Test
  void withoutPostgresTheClientReadsValkeyWhateverTheMarkers() {
    try (ViewClient client = new ViewClient(endpoint, null, null, null)) {
      ViewClient.Entry entry = client.entry(generation, "user_score", user);
      assertThat(entry.source()).isEqualTo(ViewClient.Source.VALKEY);
      assertThat(entry.fields()).containsEntry("points", 10L);
      assertThat(client.ranking(generation, "leaderboard", hunt, 10).standings())
          .containsExactly(new ViewClient.Standing("a", 5));
    }
  }

  @Test
  void aWarmUpDoesNotMarkATagThatLostItsTokenMeanwhile(ValkeyServer valkey) throws Exception {
    try (ValkeyViewStore store = new ValkeyViewStore(endpoint, generation, 100);
        Connection connection = schema.connect()) {
      int tag = ViewKeys.tag("user_score:" + user);
      // The token is written first and checked last: deleting it stands for a loss in between.
      CacheWarmer.Result result =
          CacheWarmer.warm(
              store,
              connection,
              Set.of(tag),
              rows -> {},
              () -> store.client().del(ViewKeys.warming(generation, tag)));
      assertThat(result.lostAgain()).containsExactly(tag);
      assertThat(CacheWarmer.incompleteTags(store.client(), generation)).contains(tag);
    }
  }

  @Test
  void valkeyDownIsAnsweredByPostgresAndPostgresDownByACompleteValkey() throws Exception {
    ValkeyEndpoint deadValkey =
        ValkeyEndpoint.parse("redis://127.0.0.1:" + FreePorts.next(), false, null);
    try (ViewClient client =
        new ViewClient(deadValkey, schema.jdbcUrl(), schema.user(), schema.password())) {
      ViewClient.Entry entry = client.entry(generation, "user_score", user);
      assertThat(entry.source()).isEqualTo(ViewClient.Source.POSTGRES);
      assertThat(entry.fields()).containsEntry("points", 15L);
      assertThat(client.generation()).as("view_generation of the schema").isEqualTo(1);
    }

    String deadPostgres = "jdbc:postgresql://127.0.0.1:" + FreePorts.next() + "/tally";
    try (ViewClient client = new ViewClient(endpoint, deadPostgres, "tally", "")) {
      assertThatThrownBy(() -> client.entry(generation, "user_score", user))
          .as("an incomplete Valkey is not served, even with PostgreSQL down")
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("cannot read user_score/" + user)
          .hasMessageContaining("Valkey is being refilled")
          .hasMessageContaining("PostgreSQL is unreachable");

      try (ValkeyViewStore store = new ValkeyViewStore(endpoint, generation, 100)) {
        CacheWarmer.markComplete(
            store.client(), generation, Set.of(ViewKeys.tag("user_score:" + user)));
      }
      ViewClient.Entry entry = client.entry(generation, "user_score", user);
      assertThat(entry.source()).isEqualTo(ViewClient.Source.VALKEY);
      assertThat(entry.fields()).containsEntry("points", 10L);
    }
  }
}
