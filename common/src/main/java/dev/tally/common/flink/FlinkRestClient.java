package dev.tally.common.flink;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * The few calls of Flink's REST API that Tally's tools make: upload and run a jar, read a job's
 * state, vertices, metrics and checkpoints, cancel it. Everything goes through the REST endpoint a
 * session cluster (or a MiniCluster) serves, e.g. {@code http://127.0.0.1:8081}.
 *
 * <p>Every answer is a record or a {@link JobState}/{@link TaskState}: no caller reads Flink's
 * JSON. Submissions are idempotent: each names its job id up front ({@link #newJobId()}), so a
 * submission whose reply was lost (a timeout, a dropped connection) is recognised when retried
 * instead of starting a second job; {@link #submit} deletes the jar it uploaded.
 *
 * <p>Errors come back as {@link FlinkRestException} carrying Flink's own error text.
 */
public final class FlinkRestClient {

  private static final ObjectMapper JSON = new ObjectMapper();

  private final URI base;
  private final HttpClient http;

  /**
   * A job's vertex: id, the name of its chained operators, parallelism, its tasks' aggregated state
   * and the records its tasks have read ({@code read-records}).
   */
  public record Vertex(
      String id, String name, int parallelism, TaskState status, long recordsRead) {}

  /** A job as {@code GET /jobs/<id>} shows it. {@code endTime} is -1 while it has not ended. */
  public record JobDetails(
      String id, String name, JobState state, long startTime, long endTime, List<Vertex> vertices) {

    /**
     * RUNNING with every vertex RUNNING (tasks deployed and started): only then can the job take a
     * checkpoint or savepoint.
     */
    public boolean allTasksRunning() {
      return state == JobState.RUNNING
          && !vertices.isEmpty()
          && vertices.stream().allMatch(vertex -> vertex.status() == TaskState.RUNNING);
    }

    /** From start to end (to now while it runs). */
    public Duration runTime() {
      long end = endTime < 0 ? System.currentTimeMillis() : endTime;
      return Duration.ofMillis(Math.max(0, end - startTime));
    }
  }

  /**
   * What to run from an uploaded jar.
   *
   * @param parallelism 0: the cluster's default
   * @param savepointPath null to start without state
   */
  public record Submission(
      String entryClass,
      List<String> args,
      int parallelism,
      String savepointPath,
      boolean allowNonRestoredState) {

    public Submission {
      args = List.copyOf(args);
    }

    /** {@code entryClass} with {@code args}, the cluster's parallelism, no savepoint. */
    public static Submission of(String entryClass, List<String> args) {
      return new Submission(entryClass, args, 0, null, false);
    }

    public Submission withParallelism(int parallelism) {
      return new Submission(entryClass, args, parallelism, savepointPath, allowNonRestoredState);
    }

    /** Restored from {@code savepointPath} (null: no savepoint). */
    public Submission fromSavepoint(String savepointPath, boolean allowNonRestoredState) {
      return new Submission(entryClass, args, parallelism, savepointPath, allowNonRestoredState);
    }
  }

  /** A completed checkpoint: id and full state size in bytes. */
  public record CompletedCheckpoint(long id, long stateSize) {}

  public FlinkRestClient(String baseUrl) {
    String trimmed = baseUrl.endsWith("/") ? baseUrl.substring(0, baseUrl.length() - 1) : baseUrl;
    this.base = URI.create(trimmed);
    this.http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  }

  /** Uploads a job jar; returns the jar id later runs name. */
  public String uploadJar(Path jar) {
    String boundary = "tally-" + UUID.randomUUID();
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    try {
      body.write(
          ("--"
                  + boundary
                  + "\r\nContent-Disposition: form-data; name=\"jarfile\"; filename=\""
                  + jar.getFileName()
                  + "\"\r\nContent-Type: application/x-java-archive\r\n\r\n")
              .getBytes(StandardCharsets.UTF_8));
      body.write(Files.readAllBytes(jar));
      body.write(("\r\n--" + boundary + "--\r\n").getBytes(StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + jar, e);
    }
    JsonNode reply =
        send(
            HttpRequest.newBuilder(uri("/jars/upload"))
                .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.ofByteArray(body.toByteArray())));
    String filename = reply.path("filename").asText();
    return Path.of(filename).getFileName().toString();
  }

  /** A fresh job id in Flink's form (32 hex digits), for a submission that names its job. */
  public static String newJobId() {
    return UUID.randomUUID().toString().replace("-", "");
  }

  /**
   * Uploads {@code jar}, runs it as a job with a fresh id, deletes the uploaded jar; returns the
   * job id.
   */
  public String submit(Path jar, Submission submission) {
    return submit(jar, submission, newJobId());
  }

  /** {@link #submit(Path, Submission)} as job {@code jobId} (idempotent: {@link #run}). */
  public String submit(Path jar, Submission submission, String jobId) {
    String jarId = uploadJar(jar);
    try {
      return run(jarId, submission, jobId);
    } finally {
      deleteJarQuietly(jarId);
    }
  }

  /** Runs an uploaded jar as a job with a fresh id; returns the job id. */
  public String run(String jarId, Submission submission) {
    return run(jarId, submission, newJobId());
  }

  /**
   * Runs an uploaded jar as job {@code jobId}; returns it. Idempotent: when the cluster already
   * knows {@code jobId} (an earlier call whose reply was lost, or a retry of this one after a
   * dropped connection) the job is not started again and {@code jobId} is returned. A call that did
   * not reach the cluster is tried up to three times.
   */
  public String run(String jarId, Submission submission, String jobId) {
    ObjectNode request = JSON.createObjectNode();
    request.put("entryClass", submission.entryClass());
    ArrayNode list = request.putArray("programArgsList");
    submission.args().forEach(list::add);
    request.put("jobId", jobId);
    if (submission.parallelism() > 0) {
      request.put("parallelism", submission.parallelism());
    }
    if (submission.savepointPath() != null) {
      request.put("savepointPath", submission.savepointPath());
      request.put("allowNonRestoredState", submission.allowNonRestoredState());
    }
    for (int attempt = 1; ; attempt++) {
      try {
        String started = post("/jars/" + encode(jarId) + "/run", request).path("jobid").asText();
        return started.isEmpty() ? jobId : started;
      } catch (FlinkRestException e) {
        if (knownEvenIfUnreachable(jobId)) {
          return jobId;
        }
        if (!e.unreachable() || attempt == 3) {
          throw e;
        }
        sleep(Duration.ofSeconds(attempt));
      }
    }
  }

  /** Whether the cluster knows job {@code jobId} (running, or ended and still listed). */
  public boolean known(String jobId) {
    try {
      get("/jobs/" + jobId);
      return true;
    } catch (FlinkRestException e) {
      if (e.status() == 404) {
        return false;
      }
      throw e;
    }
  }

  /** {@link #known}, false when the cluster does not answer (the run is then tried again). */
  private boolean knownEvenIfUnreachable(String jobId) {
    try {
      return known(jobId);
    } catch (FlinkRestException e) {
      if (e.unreachable()) {
        return false;
      }
      throw e;
    }
  }

  /** The ids of the jars uploaded to the cluster. */
  public List<String> jars() {
    List<String> ids = new ArrayList<>();
    for (JsonNode file : get("/jars").path("files")) {
      ids.add(file.path("id").asText());
    }
    return ids;
  }

  private void deleteJarQuietly(String jarId) {
    try {
      deleteJar(jarId);
    } catch (FlinkRestException e) {
      // The job runs; a jar left behind costs disk only and is named in GET /jars.
    }
  }

  /** Deletes an uploaded jar. */
  public void deleteJar(String jarId) {
    send(HttpRequest.newBuilder(uri("/jars/" + encode(jarId))).DELETE());
  }

  /** The job's root exception as Flink reports it, or null. */
  public String rootException(String jobId) {
    JsonNode root = get("/jobs/" + jobId + "/exceptions").path("root-exception");
    return root.isMissingNode() || root.isNull() ? null : root.asText();
  }

  /** The records read by each of the job's vertices ({@code read-records}), by vertex name. */
  public Map<String, Long> recordsRead(String jobId) {
    Map<String, Long> read = new LinkedHashMap<>();
    for (Vertex vertex : job(jobId).vertices()) {
      read.put(vertex.name(), vertex.recordsRead());
    }
    return read;
  }

  /** The job: name, state, start and end time, vertices. */
  public JobDetails job(String jobId) {
    JsonNode job = get("/jobs/" + jobId);
    List<Vertex> vertices = new ArrayList<>();
    for (JsonNode vertex : job.path("vertices")) {
      vertices.add(
          new Vertex(
              vertex.path("id").asText(),
              vertex.path("name").asText(),
              vertex.path("parallelism").asInt(),
              TaskState.parse(vertex.path("status").asText()),
              vertex.path("metrics").path("read-records").asLong()));
    }
    return new JobDetails(
        job.path("jid").asText(jobId),
        job.path("name").asText(),
        JobState.parse(job.path("state").asText()),
        job.path("start-time").asLong(),
        job.path("end-time").asLong(-1),
        List.copyOf(vertices));
  }

  public JobState state(String jobId) {
    return JobState.parse(get("/jobs/" + jobId + "/status").path("status").asText());
  }

  public List<Vertex> vertices(String jobId) {
    return job(jobId).vertices();
  }

  /** The metric ids a vertex's subtasks report. */
  public List<String> metricIds(String jobId, String vertexId) {
    List<String> ids = new ArrayList<>();
    for (JsonNode metric :
        getArray("/jobs/" + jobId + "/vertices/" + vertexId + "/subtasks/metrics")) {
      ids.add(metric.path("id").asText());
    }
    return ids;
  }

  /**
   * Aggregates of subtask metrics over a vertex's subtasks, metric id → aggregate.
   *
   * @param aggregate {@code sum}, {@code max}, {@code min} or {@code avg}
   */
  public Map<String, Double> subtaskMetrics(
      String jobId, String vertexId, List<String> metricIds, String aggregate) {
    Map<String, Double> values = new LinkedHashMap<>();
    if (metricIds.isEmpty()) {
      return values;
    }
    String path =
        "/jobs/"
            + jobId
            + "/vertices/"
            + vertexId
            + "/subtasks/metrics?get="
            + encode(String.join(",", metricIds))
            + "&agg="
            + aggregate;
    for (JsonNode metric : getArray(path)) {
      if (metric.has(aggregate)) {
        values.put(metric.path("id").asText(), metric.path(aggregate).asDouble());
      }
    }
    return values;
  }

  /** TaskManager ids. */
  public List<String> taskManagers() {
    List<String> ids = new ArrayList<>();
    for (JsonNode tm : get("/taskmanagers").path("taskmanagers")) {
      ids.add(tm.path("id").asText());
    }
    return ids;
  }

  /** TaskManager metrics, id → value (e.g. {@code Status.JVM.Memory.Heap.Used}). */
  public Map<String, Double> taskManagerMetrics(String taskManagerId, List<String> metricIds) {
    Map<String, Double> values = new LinkedHashMap<>();
    String path =
        "/taskmanagers/"
            + encode(taskManagerId)
            + "/metrics?get="
            + encode(String.join(",", metricIds));
    for (JsonNode metric : getArray(path)) {
      values.put(metric.path("id").asText(), metric.path("value").asDouble());
    }
    return values;
  }

  /** The job's latest completed checkpoint, if any. */
  public java.util.Optional<CompletedCheckpoint> latestCompletedCheckpoint(String jobId) {
    JsonNode latest = get("/jobs/" + jobId + "/checkpoints").path("latest").path("completed");
    if (latest.isMissingNode() || latest.isNull()) {
      return java.util.Optional.empty();
    }
    return java.util.Optional.of(
        new CompletedCheckpoint(latest.path("id").asLong(), latest.path("state_size").asLong()));
  }

  /** One checkpoint's state size by vertex id, bytes. */
  public Map<String, Long> checkpointStateSizes(String jobId, long checkpointId) {
    Map<String, Long> sizes = new LinkedHashMap<>();
    get("/jobs/" + jobId + "/checkpoints/details/" + checkpointId)
        .path("tasks")
        .fields()
        .forEachRemaining(
            task -> sizes.put(task.getKey(), task.getValue().path("state_size").asLong()));
    return sizes;
  }

  /** Whether the job is RUNNING with every vertex RUNNING ({@link JobDetails#allTasksRunning}). */
  public boolean allTasksRunning(String jobId) {
    return job(jobId).allTasksRunning();
  }

  /** A job the cluster knows: id, name, state, start time. */
  public record Job(String id, String name, JobState state, long startTime) {}

  /** Every job the cluster knows, newest first. */
  public List<Job> jobs() {
    List<Job> jobs = new ArrayList<>();
    for (JsonNode job : get("/jobs/overview").path("jobs")) {
      jobs.add(
          new Job(
              job.path("jid").asText(),
              job.path("name").asText(),
              JobState.parse(job.path("state").asText()),
              job.path("start-time").asLong()));
    }
    jobs.sort((a, b) -> Long.compare(b.startTime(), a.startTime()));
    return jobs;
  }

  /**
   * The job's global parameters ({@code execution-config.user-config}): what a job published about
   * itself, e.g. the projection job's arguments.
   */
  public Map<String, String> userConfig(String jobId) {
    Map<String, String> config = new LinkedHashMap<>();
    get("/jobs/" + jobId + "/config")
        .path("execution-config")
        .path("user-config")
        .fields()
        .forEachRemaining(field -> config.put(field.getKey(), field.getValue().asText()));
    return config;
  }

  /**
   * Stops a job with a savepoint ({@code POST /jobs/<id>/stop}, no drain: timers and windows stay
   * in state) and waits for it; returns the savepoint's path.
   *
   * @param targetDirectory null for the cluster's {@code execution.checkpointing.savepoint-dir}
   * @throws FlinkRestException when the savepoint fails (the job then keeps running)
   */
  public String stopWithSavepoint(String jobId, String targetDirectory, Duration timeout) {
    ObjectNode request = JSON.createObjectNode();
    request.put("drain", false);
    if (targetDirectory != null) {
      request.put("targetDirectory", targetDirectory);
    }
    String trigger = post("/jobs/" + jobId + "/stop", request).path("request-id").asText();
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      JsonNode status = get("/jobs/" + jobId + "/savepoints/" + trigger);
      if ("COMPLETED".equals(status.path("status").path("id").asText())) {
        JsonNode operation = status.path("operation");
        if (operation.has("location")) {
          return operation.path("location").asText();
        }
        throw new FlinkRestException(
            "savepoint of job "
                + jobId
                + " failed: "
                + firstLine(operation.path("failure-cause").path("stack-trace").asText()),
            null);
      }
      sleep(Duration.ofMillis(250));
    }
    throw new FlinkRestException(
        "stop-with-savepoint of job "
            + jobId
            + " not done within "
            + timeout
            + " (trigger "
            + trigger
            + "); it may still complete: the job is "
            + state(jobId)
            + " now; GET /jobs/"
            + jobId
            + "/savepoints/"
            + trigger
            + " gives the savepoint once done",
        null);
  }

  private static String firstLine(String text) {
    int newline = text.indexOf('\n');
    return newline < 0 ? text : text.substring(0, newline);
  }

  private static void sleep(Duration duration) {
    try {
      Thread.sleep(duration.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new FlinkRestException("interrupted", e);
    }
  }

  /** Cancels a job (no savepoint). */
  public void cancel(String jobId) {
    send(
        HttpRequest.newBuilder(uri("/jobs/" + jobId + "?mode=cancel"))
            .method("PATCH", HttpRequest.BodyPublishers.noBody()));
  }

  private JsonNode get(String path) {
    return send(HttpRequest.newBuilder(uri(path)).GET());
  }

  private Iterable<JsonNode> getArray(String path) {
    JsonNode node = get(path);
    return node.isArray() ? node : List.of();
  }

  private JsonNode post(String path, JsonNode body) {
    try {
      return send(
          HttpRequest.newBuilder(uri(path))
              .header("Content-Type", "application/json")
              .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body))));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private JsonNode send(HttpRequest.Builder request) {
    HttpResponse<String> response;
    try {
      response =
          http.send(
              request.timeout(Duration.ofSeconds(120)).build(),
              HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new FlinkRestException("Flink REST API at " + base + " unreachable: " + e, e, 0, true);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new FlinkRestException("interrupted while calling " + base, e);
    }
    JsonNode body;
    try {
      body = response.body().isBlank() ? JSON.createObjectNode() : JSON.readTree(response.body());
    } catch (IOException e) {
      throw new FlinkRestException(
          "Flink REST " + request.build().uri() + " answered non-JSON: " + response.body(), e);
    }
    if (response.statusCode() >= 400) {
      List<String> errors = new ArrayList<>();
      body.path("errors").forEach(error -> errors.add(error.asText()));
      throw new FlinkRestException(
          "Flink REST "
              + request.build().method()
              + " "
              + request.build().uri().getPath()
              + " failed ("
              + response.statusCode()
              + "): "
              + String.join("; ", errors),
          null,
          response.statusCode(),
          false);
    }
    return body;
  }

  private URI uri(String path) {
    return URI.create(base + path);
  }

  private static String encode(String value) {
    return URLEncoder.encode(value, StandardCharsets.UTF_8);
  }

  /** A failed REST call, with Flink's error text. */
  public static final class FlinkRestException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final int status;
    private final boolean unreachable;

    public FlinkRestException(String message, Throwable cause) {
      this(message, cause, 0, false);
    }

    FlinkRestException(String message, Throwable cause, int status, boolean unreachable) {
      super(message, cause);
      this.status = status;
      this.unreachable = unreachable;
    }

    /** The HTTP status Flink answered, 0 when there was no answer. */
    public int status() {
      return status;
    }

    /**
     * The call got no answer (refused, dropped, timed out): it may or may not have taken effect.
     */
    public boolean unreachable() {
      return unreachable;
    }
  }
}
