package dev.tally.serve;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tally.common.replay.Generations;
import dev.tally.common.views.CacheWarmer;
import dev.tally.common.views.Partial;
import dev.tally.common.views.ValkeyEndpoint;
import dev.tally.common.views.ValkeyViewStore;
import dev.tally.common.views.ViewClient;
import dev.tally.common.views.ViewKeys;
import dev.tally.common.views.ViewUpdate;
import dev.tally.common.wait.Poll;
import dev.tally.testing.ValkeyServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * The server's near cache against a real valkey-server: it answers repeated reads itself, and a
 * writer's change, a generation switch or a lost subscription is never answered from it stale. The
 * cache's TTL is an hour here, so only its invalidation can make a changed value show.
 */
class NearCacheIT {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private static final Duration SOON = Duration.ofSeconds(10);

  @Test
  void answersRepeatedReadsItselfAndNeverStaleAfterAChangeASwitchOrALostSubscription()
      throws Exception {
    try (ValkeyServer valkey = ValkeyServer.start()) {
      ValkeyEndpoint endpoint = ValkeyEndpoint.parse(valkey.uri(), false, null);
      try (ValkeyViewStore g1 = new ValkeyViewStore(endpoint, 1, 100);
          ValkeyViewStore g2 = new ValkeyViewStore(endpoint, 2, 100);
          ViewClient client = new ViewClient(endpoint, null, null, null);
          ViewServer server =
              ViewServer.start(
                  client,
                  "127.0.0.1",
                  0,
                  null,
                  new ViewServer.NearCacheSettings(endpoint, 1000, Duration.ofHours(1)))) {
        CacheWarmer.markComplete(g1.client(), 1, allTags());
        CacheWarmer.markComplete(g1.client(), 2, allTags());
        g1.apply(List.of(score("u1", 1, 10), board("u1", 1, 10), board("u2", 1, 20)));
        Poll.until(
            "the near cache listening",
            SOON,
            Duration.ofMillis(20),
            () -> server.nearCacheListening() ? true : null);

        // Read twice: the second from memory.
        assertThat(points(server, "/v1/views/user_score/entries/u1")).isEqualTo(10);
        double hitsBefore = hits(server);
        assertThat(points(server, "/v1/views/user_score/entries/u1")).isEqualTo(10);
        assertThat(top(server)).isEqualTo("u2,u1");
        assertThat(top(server)).isEqualTo("u2,u1");
        assertThat(hits(server) - hitsBefore).as("the second reads were hits").isEqualTo(2);

        // A writer's change is announced: the entry and its ranking's top are dropped.
        g1.apply(List.of(score("u1", 2, 25), board("u1", 2, 30)));
        awaitPoints(server, "/v1/views/user_score/entries/u1", 25);
        Poll.until(
            "the top after u1 passed u2",
            SOON,
            Duration.ofMillis(20),
            () -> top(server).equals("u1,u2") ? true : null,
            () -> top(server));

        // A switch drops everything: generation 2 is read at once, its entries too.
        g2.apply(List.of(score("u1", 1, 99)));
        try (Generations generations = new Generations(endpoint, null, null, null)) {
          generations.flipValkey(1, 2);
        }
        awaitPoints(server, "/v1/views/user_score/entries/u1", 99);

        // The subscription cut: what was announced meanwhile is not heard, so nothing cached from
        // before is answered once it is back.
        assertThat(points(server, "/v1/views/user_score/entries/u1")).isEqualTo(99); // cached
        try (var admin = valkey.client()) {
          admin.clientKill(
              io.valkey.params.ClientKillParams.clientKillParams()
                  .type(io.valkey.args.ClientType.PUBSUB));
        }
        g2.apply(List.of(score("u1", 2, 100)));
        Poll.until(
            "the near cache listening again",
            SOON,
            Duration.ofMillis(20),
            () -> server.nearCacheListening() ? true : null);
        assertThat(points(server, "/v1/views/user_score/entries/u1"))
            .as("not the value cached before the cut")
            .isEqualTo(100);
        assertThat(scrape(server))
            .contains("tally_serve_near_cache_drops_total{reason=\"switch\"}")
            .contains("tally_serve_near_cache_listening 1.0");
      }
    }
  }

  private static long points(ViewServer server, String path) {
    return get(server, path).get("fields").get("points").asLong();
  }

  private static void awaitPoints(ViewServer server, String path, long points) throws Exception {
    Poll.until(
        path + " at " + points + " points",
        SOON,
        Duration.ofMillis(20),
        () -> points(server, path) == points ? true : null,
        () -> Long.toString(points(server, path)));
  }

  private static String top(ViewServer server) {
    JsonNode standings = get(server, "/v1/leaderboards/hunt-1?top=2").get("standings");
    StringBuilder members = new StringBuilder();
    for (JsonNode standing : standings) {
      members.append(members.isEmpty() ? "" : ",").append(standing.get("member").asText());
    }
    return members.toString();
  }

  private static double hits(ViewServer server) throws Exception {
    for (String line : scrape(server).split("\n")) {
      if (line.startsWith("tally_serve_near_cache_reads_total{result=\"hit\"}")) {
        return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
      }
    }
    return 0;
  }

  private static String scrape(ViewServer server) throws Exception {
    return HTTP.send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/metrics"))
                .build(),
            HttpResponse.BodyHandlers.ofString())
        .body();
  }

  private static JsonNode get(ViewServer server, String path) {
    try {
      HttpResponse<String> response =
          HTTP.send(
              HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(response.statusCode()).as(path + ": " + response.body()).isEqualTo(200);
      return JSON.readTree(response.body());
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private static ViewUpdate score(String user, long version, long points) {
    return new ViewUpdate(
        "user_score",
        user,
        "live/p0",
        version,
        Partial.builder().sum("points", points).sum("events", version).build(),
        0);
  }

  private static ViewUpdate board(String user, long version, long points) {
    return new ViewUpdate(
            "leaderboard",
            "hunt-1|" + user,
            "live/p0",
            version,
            Partial.builder().sum("points", points).sum("events", version).build(),
            0)
        .rankedIn("hunt-1", user, "points");
  }

  private static Set<Integer> allTags() {
    Set<Integer> tags = new TreeSet<>();
    IntStream.range(0, ViewKeys.TAGS).forEach(tags::add);
    return tags;
  }
}
