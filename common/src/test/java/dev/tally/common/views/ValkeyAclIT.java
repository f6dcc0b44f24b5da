package dev.tally.common.views;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tally.testing.ValkeyExtension;
import dev.tally.testing.ValkeyServer;
import io.valkey.Jedis;
import io.valkey.UnifiedJedis;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The least-privilege users of deploy/valkey/acl-rules.txt, loaded as they are into a real server:
 * the job's write path and the readers' path work as those users, and what lies outside them is
 * refused.
 */
@ExtendWith(ValkeyExtension.class)
class ValkeyAclIT {

  private static final Path RULES = Path.of("../deploy/valkey/acl-rules.txt");
  private static final int GENERATION = 977;

  private ValkeyServer valkey;
  private final List<String> users = new ArrayList<>();

  @BeforeEach
  void loadTheDocumentedUsers(ValkeyServer valkey) throws Exception {
    this.valkey = valkey;
    try (Jedis admin = valkey.client()) {
      for (String line : Files.readAllLines(RULES)) {
        if (line.isBlank() || line.startsWith("#")) {
          continue;
        }
        List<String> words = new ArrayList<>(List.of(line.trim().split("\\s+")));
        String name = words.remove(0);
        words.add(">" + name + "-secret");
        admin.aclSetUser(name, words.toArray(String[]::new));
        users.add(name);
      }
    }
    assertThat(users).containsExactly("tally-job", "tally-reader");
  }

  @AfterEach
  void dropThem() {
    try (Jedis admin = valkey.client()) {
      users.forEach(admin::aclDelUser);
    }
  }

  private ValkeyEndpoint as(String user) {
    return ValkeyEndpoint.parse(
        "redis://" + user + ":" + user + "-secret@" + valkey.host() + ":" + valkey.port(),
        false,
        null);
  }

  @Test
  void theJobWritesAndRefillsAsItsUserAndNothingElse() {
    try (ValkeyViewStore store = new ValkeyViewStore(as("tally-job"), GENERATION, 100)) {
      ValkeyViewStore.Result result =
          store.apply(
              List.of(
                  ValkeyViewStoreContract.score("acl-user", "live/p0", 1, 10, 100),
                  ValkeyViewStoreContract.board("hunt-acl", "acl-user", "live/p0", 1, 10)));
      assertThat(result.applied()).isEqualTo(2);
      // The cache warden's calls: markers, their check, the pointer, and the server's run_id (how
      // it notices a restart from an older snapshot; refused, such a restart went unnoticed).
      CacheWarmer.markComplete(store.client(), GENERATION, Set.of(1, 2));
      assertThat(CacheWarmer.incompleteTags(store.client(), GENERATION)).hasSize(62);
      assertThat(CacheWarmer.runId(store.client())).matches("[0-9a-f]{40}");

      UnifiedJedis client = store.client();
      assertThatThrownBy(client::flushAll).hasMessageContaining("NOPERM");
      assertThatThrownBy(() -> client.set("elsewhere", "x")).hasMessageContaining("NOPERM");
      assertThatThrownBy(() -> client.keys("*")).hasMessageContaining("NOPERM");
    }
  }

  @Test
  void readersReadAndCannotWrite() {
    try (ValkeyViewStore store = new ValkeyViewStore(as("tally-job"), GENERATION, 100)) {
      store.apply(List.of(ValkeyViewStoreContract.score("acl-reader", "live/p0", 2, 20, 200)));
      CacheWarmer.markComplete(store.client(), GENERATION, allTags());
    }
    try (ViewClient reader = new ViewClient(as("tally-reader"), null, null, null)) {
      ViewClient.Entry entry = reader.entry(GENERATION, "user_score", "acl-reader");
      assertThat(entry.source()).isEqualTo(ViewClient.Source.VALKEY);
      assertThat(entry.fields()).containsEntry("points", 20L);
      assertThat(reader.ranking(GENERATION, "leaderboard", "hunt-none", 5).standings()).isEmpty();
      assertThat(reader.rank(GENERATION, "leaderboard", "hunt-none", "x", 1).member()).isNull();
      reader.generation();
    }
    try (ValkeyViewStore asReader = new ValkeyViewStore(as("tally-reader"), GENERATION, 100)) {
      assertThatThrownBy(
              () ->
                  asReader.apply(
                      List.of(ValkeyViewStoreContract.score("acl-reader", "live/p0", 3, 1, 1))))
          .as("a reader cannot write a view")
          .hasMessageContaining("NOPERM");
      assertThat(asReader.client().hgetAll(ViewKeys.entry(GENERATION, "user_score", "acl-reader")))
          .containsEntry("points", "20");
      assertThatThrownBy(() -> asReader.client().set("tally:generation", "9"))
          .hasMessageContaining("NOPERM");
    }
  }

  private static Set<Integer> allTags() {
    Set<Integer> tags = new java.util.TreeSet<>();
    for (int tag = 0; tag < ViewKeys.TAGS; tag++) {
      tags.add(tag);
    }
    return tags;
  }
}
