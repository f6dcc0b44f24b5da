package dev.tally.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tally.common.views.ViewCatalog;
import dev.tally.common.views.ViewClient;
import io.undertow.Handlers;
import io.undertow.Undertow;
import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import io.undertow.server.RoutingHandler;
import io.undertow.server.handlers.BlockingHandler;
import io.undertow.util.Headers;
import io.undertow.util.HttpString;
import io.undertow.util.StatusCodes;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32;

/**
 * The views over HTTP/JSON (docs/serving.md; the contract is {@code openapi.json}, served at {@code
 * /v1/openapi.json}). Every request reads the served generation once and answers from it alone, so
 * a batch or a page never mixes generations across a cutover. Reads go through {@link ViewClient}:
 * Valkey while it holds an entry's whole tag, PostgreSQL otherwise, never a partial entry; when no
 * store can answer, 503 with the reason.
 *
 * <p>Entries carry a strong ETag from their served version ({@code "g<generation>-v<version>"});
 * other responses a weak one over their body; {@code If-None-Match} that matches gets 304.
 */
public final class ViewServer implements AutoCloseable {

  /** Every route, as the OpenAPI description lists it. */
  public static final List<String> ROUTES =
      List.of(
          "/v1/health",
          "/v1/openapi.json",
          "/metrics",
          "/v1/views/{view}/entries/{key}",
          "/v1/views/{view}/batch",
          "/v1/leaderboards/{hunt}",
          "/v1/leaderboards/{hunt}/members/{user}",
          "/v1/activity/{type}");

  static final int MAX_BATCH = 500;
  static final int MAX_TOP = 1000;
  static final int MAX_AROUND = 50;
  static final int MAX_MINUTES = 24 * 60;

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpString ETAG = Headers.ETAG;

  private final ViewClient client;
  private final NearCache nearCache;
  private final Undertow undertow;
  private final io.micrometer.prometheusmetrics.PrometheusMeterRegistry metrics =
      new io.micrometer.prometheusmetrics.PrometheusMeterRegistry(
          io.micrometer.prometheusmetrics.PrometheusConfig.DEFAULT);
  private final java.util.concurrent.atomic.AtomicInteger lastGeneration =
      new java.util.concurrent.atomic.AtomicInteger();

  /**
   * The near cache's settings (docs/serving.md "Near cache").
   *
   * @param endpoint the Valkey whose announcements keep it right (a single node)
   * @param maxEntries at most this many entries (and a tenth as many leaderboard tops); 0: none
   * @param ttl nothing kept longer: the bound on a change made behind the writers' back
   */
  public record NearCacheSettings(
      dev.tally.common.views.ValkeyEndpoint endpoint, long maxEntries, Duration ttl) {}

  private ViewServer(
      ViewClient client,
      String host,
      int port,
      javax.net.ssl.SSLContext tls,
      NearCacheSettings near) {
    this.client = client;
    this.nearCache =
        near == null || near.maxEntries() <= 0
            ? null
            : NearCache.start(client, near.endpoint(), near.maxEntries(), near.ttl(), metrics);
    metrics.gauge("tally_serve_generation", lastGeneration);
    RoutingHandler routes =
        Handlers.routing()
            .get("/v1/health", blocking("/v1/health", this::health))
            .get("/v1/openapi.json", this::openApi)
            .get("/metrics", this::prometheus)
            .get(
                "/v1/views/{view}/entries/{key}",
                blocking("/v1/views/{view}/entries/{key}", this::entry))
            .post("/v1/views/{view}/batch", blocking("/v1/views/{view}/batch", this::batch))
            .get("/v1/leaderboards/{hunt}", blocking("/v1/leaderboards/{hunt}", this::top))
            .get(
                "/v1/leaderboards/{hunt}/members/{user}",
                blocking("/v1/leaderboards/{hunt}/members/{user}", this::member))
            .get("/v1/activity/{type}", blocking("/v1/activity/{type}", this::activity))
            .setFallbackHandler(
                exchange ->
                    error(
                        exchange,
                        StatusCodes.NOT_FOUND,
                        "no route "
                            + exchange.getRequestMethod()
                            + " "
                            + exchange.getRequestPath()
                            + "; see /v1/openapi.json"))
            .setInvalidMethodHandler(
                exchange ->
                    error(
                        exchange,
                        StatusCodes.METHOD_NOT_ALLOWED,
                        exchange.getRequestMethod()
                            + " is not allowed on "
                            + exchange.getRequestPath()));
    Undertow.Builder builder = Undertow.builder();
    if (tls == null) {
      builder.addHttpListener(port, host);
    } else {
      builder.addHttpsListener(port, host, tls);
    }
    this.undertow = builder.setHandler(routes).build();
  }

  /**
   * Starts serving HTTP on {@code host:port} (port 0: any free one, see {@link #port()}), without a
   * near cache.
   */
  public static ViewServer start(ViewClient client, String host, int port) {
    return start(client, host, port, null, null);
  }

  /**
   * As above, HTTPS only when {@code tls} is given ({@link ServerTls#fromPem}), with a near cache
   * unless {@code nearCache} is null (or holds 0 entries).
   */
  public static ViewServer start(
      ViewClient client,
      String host,
      int port,
      javax.net.ssl.SSLContext tls,
      NearCacheSettings nearCache) {
    ViewServer server = new ViewServer(client, host, port, tls, nearCache);
    try {
      server.undertow.start();
    } catch (RuntimeException e) {
      server.closeNearCache();
      throw e;
    }
    return server;
  }

  /** Whether the near cache serves reads now (false without one). */
  public boolean nearCacheListening() {
    return nearCache != null && nearCache.listening();
  }

  /** The port the server listens on. */
  public int port() {
    return ((InetSocketAddress) undertow.getListenerInfo().get(0).getAddress()).getPort();
  }

  @Override
  public void close() {
    undertow.stop();
    closeNearCache();
  }

  private void closeNearCache() {
    if (nearCache != null) {
      nearCache.close();
    }
  }

  /** A route's work, run on a worker thread (the stores block). */
  interface Route {
    void handle(HttpServerExchange exchange) throws Exception;
  }

  /**
   * Runs a route on a worker thread, timing it ({@code tally_serve_requests_seconds} by route and
   * status).
   */
  private HttpHandler blocking(String template, Route route) {
    return new BlockingHandler(
        exchange -> {
          long started = System.nanoTime();
          try {
            handle(exchange, route);
          } finally {
            io.micrometer.core.instrument.Timer.builder("tally_serve_requests")
                .tag("route", template)
                .tag("status", Integer.toString(exchange.getStatusCode()))
                .publishPercentileHistogram()
                .register(metrics)
                .record(System.nanoTime() - started, java.util.concurrent.TimeUnit.NANOSECONDS);
          }
        });
  }

  private void handle(HttpServerExchange exchange, Route route) throws Exception {
    try {
      route.handle(exchange);
    } catch (NotFound e) {
      error(exchange, StatusCodes.NOT_FOUND, e.getMessage());
    } catch (BadRequest e) {
      error(exchange, StatusCodes.BAD_REQUEST, e.getMessage());
    } catch (IllegalStateException e) {
      // ViewClient: no store can answer (Valkey incomplete or down, PostgreSQL down).
      metrics.counter("tally_serve_unavailable").increment();
      error(exchange, StatusCodes.SERVICE_UNAVAILABLE, e.getMessage());
    }
  }

  private void prometheus(HttpServerExchange exchange) {
    exchange
        .getResponseHeaders()
        .put(Headers.CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8");
    exchange.getResponseSender().send(metrics.scrape());
  }

  /** The served generation, read once per request; counts switches it sees. */
  private int generation() {
    int generation = nearCache != null ? nearCache.generation() : client.generation();
    int before = lastGeneration.getAndSet(generation);
    if (before != 0 && before != generation) {
      metrics.counter("tally_serve_generation_switches").increment();
    }
    return generation;
  }

  /** Counts where reads were answered from ({@code tally_serve_reads_total} by view and source). */
  private void counted(String view, ViewClient.Source source) {
    metrics
        .counter(
            "tally_serve_reads",
            "view",
            view,
            "source",
            source.name().toLowerCase(java.util.Locale.ROOT))
        .increment();
  }

  private void health(HttpServerExchange exchange) throws IOException {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("generation", generation());
    ok(exchange, body, null);
  }

  private void openApi(HttpServerExchange exchange) throws IOException {
    try (InputStream in = ViewServer.class.getResourceAsStream("openapi.json")) {
      if (in == null) {
        throw new UncheckedIOException(new IOException("openapi.json missing from the jar"));
      }
      exchange.getResponseHeaders().put(Headers.CONTENT_TYPE, "application/json");
      exchange.getResponseSender().send(new String(in.readAllBytes(), StandardCharsets.UTF_8));
    }
  }

  private void entry(HttpServerExchange exchange) throws IOException {
    String view = view(exchange);
    String key = path(exchange, "key");
    int generation = generation();
    ViewClient.Entry entry = read(generation, view, key);
    if (entry.source() == ViewClient.Source.NONE) {
      error(exchange, StatusCodes.NOT_FOUND, view + " has no entry '" + key + "'");
      return;
    }
    ok(exchange, entryJson(view, key, entry), "\"g" + generation + "-v" + entry.version() + "\"");
  }

  private void batch(HttpServerExchange exchange) throws IOException {
    String view = view(exchange);
    JsonNode request;
    try {
      request = JSON.readTree(exchange.getInputStream());
    } catch (IOException e) {
      throw new BadRequest("the body is not JSON: " + e.getMessage());
    }
    JsonNode keys = request == null ? null : request.get("keys");
    if (keys == null || !keys.isArray() || keys.isEmpty()) {
      throw new BadRequest(
          "the body must be {\"keys\": [\"…\", …]} with 1 to " + MAX_BATCH + " keys");
    }
    if (keys.size() > MAX_BATCH) {
      throw new BadRequest(keys.size() + " keys asked; at most " + MAX_BATCH + " per batch");
    }
    int generation = generation();
    List<Object> entries = new ArrayList<>();
    for (JsonNode key : keys) {
      if (!key.isTextual()) {
        throw new BadRequest("keys must be strings, got " + key);
      }
      ViewClient.Entry entry = read(generation, view, key.asText());
      entries.add(
          entry.source() == ViewClient.Source.NONE
              ? Map.of("key", key.asText(), "found", false)
              : entryJson(view, key.asText(), entry));
    }
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("view", view);
    body.put("generation", generation);
    body.put("entries", entries);
    ok(exchange, body, null);
  }

  private void top(HttpServerExchange exchange) throws IOException {
    String hunt = path(exchange, "hunt");
    int n = intParameter(exchange, "top", 10, 1, MAX_TOP);
    int generation = generation();
    ViewClient.Ranking ranking =
        nearCache != null
            ? nearCache.ranking(generation, ViewCatalog.LEADERBOARD.id(), hunt, n)
            : client.ranking(generation, ViewCatalog.LEADERBOARD.id(), hunt, n);
    counted(ViewCatalog.LEADERBOARD.id(), ranking.source());
    List<Object> standings = new ArrayList<>();
    for (int i = 0; i < ranking.standings().size(); i++) {
      ViewClient.Standing standing = ranking.standings().get(i);
      standings.add(placed(i + 1, standing.member(), standing.score()));
    }
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("hunt", hunt);
    body.put("generation", generation);
    body.put("source", source(ranking.source()));
    body.put("standings", standings);
    ok(exchange, body, null);
  }

  private void member(HttpServerExchange exchange) throws IOException {
    String hunt = path(exchange, "hunt");
    String user = path(exchange, "user");
    int around = intParameter(exchange, "around", 2, 0, MAX_AROUND);
    int generation = generation();
    ViewClient.Neighbourhood place =
        client.rank(generation, ViewCatalog.LEADERBOARD.id(), hunt, user, around);
    counted(ViewCatalog.LEADERBOARD.id(), place.source());
    if (place.member() == null) {
      error(exchange, StatusCodes.NOT_FOUND, user + " is not ranked in " + hunt);
      return;
    }
    List<Object> neighbours = new ArrayList<>();
    for (ViewClient.Placed placed : place.around()) {
      neighbours.add(placed(placed.rank(), placed.member(), placed.score()));
    }
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("hunt", hunt);
    body.put("generation", generation);
    body.put("source", source(place.source()));
    body.put(
        "member", placed(place.member().rank(), place.member().member(), place.member().score()));
    body.put("around", neighbours);
    ok(exchange, body, null);
  }

  private void activity(HttpServerExchange exchange) throws IOException {
    String type = path(exchange, "type").toUpperCase(java.util.Locale.ROOT);
    Instant from = instantParameter(exchange, "from");
    Instant to = instantParameter(exchange, "to");
    if (to.isBefore(from)) {
      throw new BadRequest("to " + to + " is before from " + from);
    }
    long minutes = Duration.between(from, to).toMinutes() + 1;
    if (minutes > MAX_MINUTES) {
      throw new BadRequest(minutes + " minutes asked; at most " + MAX_MINUTES + " per request");
    }
    int generation = generation();
    List<Object> counts = new ArrayList<>();
    for (Instant minute = from; !minute.isAfter(to); minute = minute.plus(1, ChronoUnit.MINUTES)) {
      ViewClient.Entry entry =
          read(
              generation,
              ViewCatalog.ACTIVITY.id(),
              ViewCatalog.activityKey(type, minute.toString()));
      Map<String, Object> row = new LinkedHashMap<>();
      row.put("minute", minute.toString());
      row.put("count", entry.fields().getOrDefault(ViewCatalog.ACTIVITY.countField(), 0L));
      counts.add(row);
    }
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("type", type);
    body.put("generation", generation);
    body.put("minutes", counts);
    ok(exchange, body, null);
  }

  private ViewClient.Entry read(int generation, String view, String key) {
    ViewClient.Entry entry;
    if (nearCache != null) {
      entry = nearCache.entry(generation, view, key);
    } else {
      String set = ViewCatalog.byId(view).setOf(key);
      entry =
          set == null
              ? client.entry(generation, view, key)
              : client.rankedEntry(generation, view, set, key);
    }
    counted(view, entry.source());
    return entry;
  }

  private static Map<String, Object> entryJson(String view, String key, ViewClient.Entry entry) {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("view", view);
    body.put("key", key);
    body.put("generation", entry.generation());
    body.put("version", entry.version());
    body.put("source", source(entry.source()));
    // Numbers as JSON integers: int64 fits Jackson's long; clients in JavaScript beware 2^53.
    body.put("fields", entry.fields());
    return body;
  }

  private static Map<String, Object> placed(long rank, String member, long points) {
    Map<String, Object> row = new LinkedHashMap<>();
    row.put("rank", rank);
    row.put("member", member);
    row.put("points", points);
    return row;
  }

  private static String source(ViewClient.Source source) {
    return source.name().toLowerCase(java.util.Locale.ROOT);
  }

  private static String view(HttpServerExchange exchange) {
    String view = path(exchange, "view");
    if (!ViewCatalog.ids().contains(view)) {
      throw new NotFound(
          "unknown view '"
              + view
              + "'; known: "
              + String.join(", ", new java.util.TreeSet<>(ViewCatalog.ids())));
    }
    return view;
  }

  private static String path(HttpServerExchange exchange, String name) {
    String value = exchange.getQueryParameters().get(name).getFirst();
    if (value.isEmpty()) {
      throw new BadRequest(name + " is empty");
    }
    return value;
  }

  private static int intParameter(
      HttpServerExchange exchange, String name, int fallback, int min, int max) {
    var values = exchange.getQueryParameters().get(name);
    if (values == null || values.isEmpty()) {
      return fallback;
    }
    try {
      int value = Integer.parseInt(values.getFirst());
      if (value < min || value > max) {
        throw new BadRequest(name + " must be from " + min + " to " + max + ", got " + value);
      }
      return value;
    } catch (NumberFormatException e) {
      throw new BadRequest(name + " must be a whole number, got '" + values.getFirst() + "'");
    }
  }

  private static Instant instantParameter(HttpServerExchange exchange, String name) {
    var values = exchange.getQueryParameters().get(name);
    if (values == null || values.isEmpty()) {
      throw new BadRequest(name + " is required: an ISO-8601 minute such as 2026-01-01T00:05:00Z");
    }
    try {
      Instant instant = Instant.parse(values.getFirst());
      if (!instant.truncatedTo(ChronoUnit.MINUTES).equals(instant)) {
        throw new BadRequest(name + " must be a whole minute, got " + instant);
      }
      return instant;
    } catch (DateTimeParseException e) {
      throw new BadRequest(
          name
              + " '"
              + values.getFirst()
              + "' is not an ISO-8601 instant like 2026-01-01T00:05:00Z");
    }
  }

  private static void ok(HttpServerExchange exchange, Object body, String etag) throws IOException {
    byte[] bytes = JSON.writeValueAsBytes(body);
    if (etag == null) {
      CRC32 crc = new CRC32();
      crc.update(bytes);
      etag = "W/\"" + Long.toHexString(crc.getValue()) + "\"";
    }
    exchange.getResponseHeaders().put(ETAG, etag);
    exchange.getResponseHeaders().put(Headers.CACHE_CONTROL, "no-cache");
    String match = exchange.getRequestHeaders().getFirst(Headers.IF_NONE_MATCH);
    if (etag.equals(match)) {
      exchange.setStatusCode(StatusCodes.NOT_MODIFIED);
      exchange.endExchange();
      return;
    }
    exchange.getResponseHeaders().put(Headers.CONTENT_TYPE, "application/json");
    exchange.getResponseSender().send(java.nio.ByteBuffer.wrap(bytes));
  }

  private static void error(HttpServerExchange exchange, int status, String message)
      throws IOException {
    exchange.setStatusCode(status);
    exchange.getResponseHeaders().put(Headers.CONTENT_TYPE, "application/json");
    exchange
        .getResponseSender()
        .send(
            java.nio.ByteBuffer.wrap(
                JSON.writeValueAsBytes(Map.of("status", status, "error", message))));
  }

  /** A request the server cannot read: 400 with the reason. */
  static class BadRequest extends RuntimeException {
    BadRequest(String message) {
      super(message);
    }
  }

  /** Something the request names does not exist: 404 with the reason. */
  static final class NotFound extends BadRequest {
    NotFound(String message) {
      super(message);
    }
  }
}
