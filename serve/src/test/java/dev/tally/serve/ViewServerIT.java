package dev.tally.serve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tally.common.views.CacheWarmer;
import dev.tally.common.views.Partial;
import dev.tally.common.views.PostgresViewStore;
import dev.tally.common.views.ValkeyEndpoint;
import dev.tally.common.views.ValkeyViewStore;
import dev.tally.common.views.ViewClient;
import dev.tally.common.views.ViewKeys;
import dev.tally.common.views.ViewUpdate;
import dev.tally.testing.FreePorts;
import dev.tally.testing.PostgresExtension;
import dev.tally.testing.PostgresServer;
import dev.tally.testing.ValkeyExtension;
import dev.tally.testing.ValkeyServer;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The HTTP API against real Valkey and PostgreSQL, through a real HTTP client. */
@ExtendWith({ValkeyExtension.class, PostgresExtension.class})
class ViewServerIT {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private static final int GENERATION = 41;

  private static PostgresServer.Schema schema;
  private static ValkeyEndpoint endpoint;
  private static ViewClient client;
  private static ViewServer server;

  record Answer(int status, JsonNode body, String etag) {}

  @BeforeAll
  static void seed(ValkeyServer valkey, PostgresServer postgres) throws Exception {
    schema = postgres.newSchema("serve");
    PostgresViewStore.migrate(schema.jdbcUrl(), schema.user(), schema.password());
    endpoint = ValkeyEndpoint.parse(valkey.uri(), false, null);
    List<ViewUpdate> updates = new ArrayList<>();
    updates.add(score("user-1", "live/p0", 3, 30));
    updates.add(score("user-1", "live/p1", 1, 100));
    for (int i = 0; i < 5; i++) {
      // Points 10, 20, 20, 40, 50: a tie between user-1 and user-2.
      long points = new long[] {10, 20, 20, 40, 50}[i];
      updates.add(
          new ViewUpdate(
                  "leaderboard",
                  "hunt-1|user-" + i,
                  "live/p0",
                  1,
                  Partial.builder().sum("points", points).sum("events", 1).build(),
                  0)
              .rankedIn("hunt-1", "user-" + i, "points"));
    }
    updates.add(
        new ViewUpdate(
            "activity",
            "CHECKIN|2026-01-01T00:00:00Z",
            "live/p0",
            7,
            Partial.builder().sum("count", 7).build(),
            0));
    updates.add(
        new ViewUpdate(
            "activity",
            "CHECKIN|2026-01-01T00:02:00Z",
            "live/p0",
            2,
            Partial.builder().sum("count", 2).build(),
            0));
    try (ValkeyViewStore store = new ValkeyViewStore(endpoint, GENERATION, 100)) {
      store.apply(updates);
      CacheWarmer.markComplete(store.client(), GENERATION, allTags());
      store.client().set(ViewKeys.GENERATION_KEY, Integer.toString(GENERATION));
    }
    try (Connection connection = schema.connect();
        PreparedStatement upsert = connection.prepareStatement(PostgresViewStore.UPSERT)) {
      for (ViewUpdate update : updates) {
        PostgresViewStore.bind(upsert, update, GENERATION);
        upsert.addBatch();
      }
      upsert.executeBatch();
    }
    client = new ViewClient(endpoint, schema.jdbcUrl(), schema.user(), schema.password());
    server = ViewServer.start(client, "127.0.0.1", 0);
  }

  @AfterAll
  static void stop() {
    if (server != null) {
      server.close();
    }
    if (client != null) {
      client.close();
    }
  }

  private static ViewUpdate score(String user, String writer, long version, long points) {
    return new ViewUpdate(
        "user_score",
        user,
        writer,
        version,
        Partial.builder()
            .sum("points", points)
            .sum("events", version)
            .max("last_activity_ms", 1000 * version)
            .build(),
        0);
  }

  private static Set<Integer> allTags() {
    Set<Integer> tags = new TreeSet<>();
    IntStream.range(0, ViewKeys.TAGS).forEach(tags::add);
    return tags;
  }

  private static Answer get(ViewServer on, String path, String ifNoneMatch) throws Exception {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + on.port() + path));
    if (ifNoneMatch != null) {
      request.header("If-None-Match", ifNoneMatch);
    }
    return answer(HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString()));
  }

  private static Answer get(String path) throws Exception {
    return get(server, path, null);
  }

  private static Answer post(String path, String body) throws Exception {
    return answer(
        HTTP.send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path))
                .POST(HttpRequest.BodyPublishers.ofString(body))
                .header("Content-Type", "application/json")
                .build(),
            HttpResponse.BodyHandlers.ofString()));
  }

  private static Answer answer(HttpResponse<String> response) throws Exception {
    return new Answer(
        response.statusCode(),
        response.body().isEmpty() ? null : JSON.readTree(response.body()),
        response.headers().firstValue("ETag").orElse(null));
  }

  private static String encoded(String text) {
    return URLEncoder.encode(text, StandardCharsets.UTF_8).replace("+", "%20");
  }

  @Test
  void anEntryWithItsVersionAsETagAnd304WhenUnchanged() throws Exception {
    Answer entry = get("/v1/views/user_score/entries/user-1");
    assertThat(entry.status()).isEqualTo(200);
    assertThat(entry.body().get("source").asText()).isEqualTo("valkey");
    assertThat(entry.body().get("generation").asInt()).isEqualTo(GENERATION);
    assertThat(entry.body().get("version").asLong()).isEqualTo(4);
    assertThat(entry.body().get("fields").get("points").asLong()).isEqualTo(130);
    assertThat(entry.body().get("fields").get("events").asLong()).isEqualTo(4);
    assertThat(entry.etag()).isEqualTo("\"g" + GENERATION + "-v4\"");

    Answer again = get(server, "/v1/views/user_score/entries/user-1", entry.etag());
    assertThat(again.status()).isEqualTo(304);
    assertThat(again.body()).isNull();
    assertThat(get(server, "/v1/views/user_score/entries/user-1", "\"g1-v3\"").status())
        .isEqualTo(200);

    Answer ranked = get("/v1/views/leaderboard/entries/" + encoded("hunt-1|user-4"));
    assertThat(ranked.status()).isEqualTo(200);
    assertThat(ranked.body().get("fields").get("points").asLong()).isEqualTo(50);
  }

  @Test
  void missingThingsAndBadRequestsSayWhy() throws Exception {
    Answer missing = get("/v1/views/user_score/entries/nobody");
    assertThat(missing.status()).isEqualTo(404);
    assertThat(missing.body().get("error").asText()).isEqualTo("user_score has no entry 'nobody'");
    Answer unknownView = get("/v1/views/scores/entries/user-1");
    assertThat(unknownView.status()).isEqualTo(404);
    assertThat(unknownView.body().get("error").asText())
        .isEqualTo("unknown view 'scores'; known: activity, leaderboard, user_score");
    assertThat(get("/v1/nothing/here").status()).isEqualTo(404);
    assertThat(post("/v1/leaderboards/hunt-1", "{}").status()).isEqualTo(405);
    Answer badTop = get("/v1/leaderboards/hunt-1?top=0");
    assertThat(badTop.status()).isEqualTo(400);
    assertThat(badTop.body().get("error").asText()).isEqualTo("top must be from 1 to 1000, got 0");
    assertThat(get("/v1/leaderboards/hunt-1?top=ten").body().get("error").asText())
        .isEqualTo("top must be a whole number, got 'ten'");
    assertThat(get("/v1/activity/CHECKIN?from=yesterday&to=2026-01-01T00:00:00Z").status())
        .isEqualTo(400);
    assertThat(
            get("/v1/activity/CHECKIN?from=2026-01-01T00:00:00Z&to=2026-01-03T00:00:00Z")
                .body()
                .get("error")
                .asText())
        .isEqualTo("2881 minutes asked; at most 1440 per request");
    assertThat(post("/v1/views/user_score/batch", "not json").status()).isEqualTo(400);
    assertThat(post("/v1/views/user_score/batch", "{\"keys\": []}").status()).isEqualTo(400);
    List<String> tooMany = new ArrayList<>();
    IntStream.range(0, 501).forEach(i -> tooMany.add("u" + i));
    assertThat(
            post(
                    "/v1/views/user_score/batch",
                    JSON.writeValueAsString(java.util.Map.of("keys", tooMany)))
                .body()
                .get("error")
                .asText())
        .isEqualTo("501 keys asked; at most 500 per batch");
  }

  @Test
  void aBatchReadsOneGenerationAndMarksWhatIsMissing() throws Exception {
    Answer batch =
        post("/v1/views/user_score/batch", "{\"keys\": [\"user-1\", \"nobody\", \"user-1\"]}");
    assertThat(batch.status()).isEqualTo(200);
    assertThat(batch.body().get("generation").asInt()).isEqualTo(GENERATION);
    JsonNode entries = batch.body().get("entries");
    assertThat(entries).hasSize(3);
    assertThat(entries.get(0).get("fields").get("points").asLong()).isEqualTo(130);
    assertThat(entries.get(1).get("found").asBoolean()).isFalse();
    assertThat(entries.get(2).get("key").asText()).isEqualTo("user-1");
  }

  @Test
  void leaderboardTopAndAMembersNeighboursInValkeysOrder() throws Exception {
    Answer top = get("/v1/leaderboards/hunt-1?top=4");
    assertThat(top.status()).isEqualTo(200);
    assertThat(members(top.body().get("standings")))
        .as("ties (user-1 and user-2 at 20) by user id, descending, as the sorted set orders them")
        .containsExactly("1:user-4:50", "2:user-3:40", "3:user-2:20", "4:user-1:20");
    assertThat(top.etag()).startsWith("W/\"");
    assertThat(get(server, "/v1/leaderboards/hunt-1?top=4", top.etag()).status()).isEqualTo(304);

    Answer place = get("/v1/leaderboards/hunt-1/members/user-2?around=1");
    assertThat(place.status()).isEqualTo(200);
    assertThat(place.body().get("member").get("rank").asLong()).isEqualTo(3);
    assertThat(members(place.body().get("around")))
        .containsExactly("2:user-3:40", "3:user-2:20", "4:user-1:20");
    assertThat(get("/v1/leaderboards/hunt-1/members/nobody").status()).isEqualTo(404);
  }

  @Test
  void activityPerMinuteWithZerosWhereNothingCounted() throws Exception {
    Answer activity = get("/v1/activity/checkin?from=2026-01-01T00:00:00Z&to=2026-01-01T00:02:00Z");
    assertThat(activity.status()).isEqualTo(200);
    List<String> rows = new ArrayList<>();
    for (JsonNode row : activity.body().get("minutes")) {
      rows.add(row.get("minute").asText() + "=" + row.get("count").asLong());
    }
    assertThat(rows)
        .containsExactly(
            "2026-01-01T00:00:00Z=7", "2026-01-01T00:01:00Z=0", "2026-01-01T00:02:00Z=2");
  }

  @Test
  void anIncompleteCacheIsAnsweredByPostgresAndNoStoreMeans503(ValkeyServer valkey)
      throws Exception {
    int tag = ViewKeys.tag("user_score:user-1");
    int huntTag = ViewKeys.tag("leaderboard:hunt-1");
    try (var jedis = valkey.client()) {
      jedis.del(ViewKeys.complete(GENERATION, tag));
    }
    try {
      Answer fromPostgres = get("/v1/views/user_score/entries/user-1");
      assertThat(fromPostgres.status()).isEqualTo(200);
      assertThat(fromPostgres.body().get("source").asText()).isEqualTo("postgres");
      assertThat(fromPostgres.body().get("fields").get("points").asLong()).isEqualTo(130);
      assertThat(fromPostgres.etag())
          .as("the same version, the same ETag")
          .isEqualTo("\"g" + GENERATION + "-v4\"");

      try (var jedis = valkey.client()) {
        jedis.del(ViewKeys.complete(GENERATION, huntTag));
      }
      Answer top = get("/v1/leaderboards/hunt-1?top=4");
      assertThat(top.body().get("source").asText()).isEqualTo("postgres");
      assertThat(members(top.body().get("standings")))
          .as("PostgreSQL orders ties as Valkey does")
          .containsExactly("1:user-4:50", "2:user-3:40", "3:user-2:20", "4:user-1:20");
      Answer place = get("/v1/leaderboards/hunt-1/members/user-2?around=1");
      assertThat(place.body().get("source").asText()).isEqualTo("postgres");
      assertThat(members(place.body().get("around")))
          .containsExactly("2:user-3:40", "3:user-2:20", "4:user-1:20");
      try (var jedis = valkey.client()) {
        jedis.set(ViewKeys.complete(GENERATION, huntTag), "test");
      }

      String deadPostgres = "jdbc:postgresql://127.0.0.1:" + FreePorts.next() + "/tally";
      try (ViewClient noPostgres = new ViewClient(endpoint, deadPostgres, "tally", "");
          ViewServer other = ViewServer.start(noPostgres, "127.0.0.1", 0)) {
        Answer unavailable = get(other, "/v1/views/user_score/entries/user-1", null);
        assertThat(unavailable.status()).isEqualTo(503);
        assertThat(unavailable.body().get("error").asText())
            .contains("Valkey is being refilled", "PostgreSQL is unreachable");
        assertThat(
                get(other, "/v1/views/leaderboard/entries/" + encoded("hunt-1|user-4"), null)
                    .status())
            .as("other tags stay complete: Valkey answers")
            .isEqualTo(200);
      }
    } finally {
      try (var jedis = valkey.client()) {
        jedis.set(ViewKeys.complete(GENERATION, tag), "test");
      }
    }
  }

  @Test
  void withACertificateTheServerSpeaksHttpsOnly() throws Exception {
    dev.tally.testing.TlsMaterial tls = dev.tally.testing.TlsMaterial.generate();
    try (ViewServer https =
        ViewServer.start(
            client,
            "127.0.0.1",
            0,
            ServerTls.fromPem(tls.serverCertificate(), tls.serverKey()),
            null)) {
      HttpClient trusting =
          HttpClient.newBuilder()
              .sslContext(dev.tally.common.tls.Pem.trusting(tls.caPem()))
              .build();

      HttpResponse<String> health =
          trusting.send(
              HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + https.port() + "/v1/health"))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(health.statusCode()).isEqualTo(200);
      assertThat(JSON.readTree(health.body()).get("generation").asInt()).isEqualTo(GENERATION);
      // Plain HTTP on the same port gets no answer; neither does a client without the CA.
      assertThatThrownBy(
              () ->
                  HTTP.send(
                      HttpRequest.newBuilder(
                              URI.create("http://127.0.0.1:" + https.port() + "/v1/health"))
                          .timeout(java.time.Duration.ofSeconds(5))
                          .build(),
                      HttpResponse.BodyHandlers.ofString()))
          .isInstanceOf(java.io.IOException.class);
      assertThatThrownBy(
              () ->
                  HTTP.send(
                      HttpRequest.newBuilder(
                              URI.create("https://127.0.0.1:" + https.port() + "/v1/health"))
                          .build(),
                      HttpResponse.BodyHandlers.ofString()))
          .isInstanceOf(javax.net.ssl.SSLHandshakeException.class);
    }
    java.nio.file.Path notAKey =
        java.nio.file.Files.writeString(
            tls.caCertificate().resolveSibling("not-a-key.pem"), "nothing here\n");
    assertThatThrownBy(() -> ServerTls.fromPem(tls.serverCertificate(), notAKey))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("--tls-key-file " + notAKey + " holds no unencrypted PKCS #8 key");
  }

  @Test
  void theOpenApiDescriptionListsEveryRoute() throws Exception {
    Answer openApi = get("/v1/openapi.json");
    assertThat(openApi.status()).isEqualTo(200);
    List<String> paths = new ArrayList<>();
    Iterator<String> names = openApi.body().get("paths").fieldNames();
    names.forEachRemaining(paths::add);
    assertThat(paths).containsExactlyInAnyOrderElementsOf(ViewServer.ROUTES);
    assertThat(get("/v1/health").body().get("generation").asInt()).isEqualTo(GENERATION);
  }

  @Test
  void metricsCountRequestsByRouteAndStatusAndReadsBySource() throws Exception {
    get("/v1/views/user_score/entries/user-1");
    get("/v1/views/user_score/entries/nobody");
    HttpResponse<String> scrape =
        HTTP.send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/metrics"))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(scrape.statusCode()).isEqualTo(200);
    assertThat(scrape.body())
        .contains(
            "tally_serve_requests_seconds_count{route=\"/v1/views/{view}/entries/{key}\",status=\"200\"}",
            "tally_serve_requests_seconds_count{route=\"/v1/views/{view}/entries/{key}\",status=\"404\"}",
            "tally_serve_requests_seconds_bucket{",
            "tally_serve_reads_total{source=\"valkey\",view=\"user_score\"}",
            "tally_serve_generation " + GENERATION);
  }

  private static List<String> members(JsonNode standings) {
    List<String> out = new ArrayList<>();
    for (JsonNode row : standings) {
      out.add(
          row.get("rank").asLong()
              + ":"
              + row.get("member").asText()
              + ":"
              + row.get("points").asLong());
    }
    return out;
  }
}
