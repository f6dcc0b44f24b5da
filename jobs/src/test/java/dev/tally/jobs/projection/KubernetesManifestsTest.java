package dev.tally.jobs.projection;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLParser;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The manifests of {@code deploy/kubernetes/}: every operator resource validates against the Flink
 * Kubernetes Operator's CRD schema (the {@code openAPIV3Schema} its API jar ships), with unknown
 * fields refused as {@code kubectl apply}'s strict field validation refuses them; every job's
 * arguments parse with the projection job's own option parser; every file an argument names lies in
 * a volume mounted from a Secret the example Secrets define.
 */
class KubernetesManifestsTest {

  private static final Path DEPLOY = Path.of("..", "deploy", "kubernetes");
  private static final Path SECRETS = DEPLOY.resolve("secrets/tally-secrets.example.yaml");
  private static final String API_VERSION = "flink.apache.org/v1beta1";

  /**
   * The operator API on Maven Central here is 1.10.0, whose CRD lists Flink versions up to v1_20;
   * the operator release these manifests need also accepts this one (deploy/kubernetes/README.md).
   */
  private static final String FLINK_VERSION = "v2_2";

  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

  private static Map<String, JsonSchema> specSchemas;
  private static List<Resource> resources;

  /** One document of a manifest file. */
  record Resource(Path file, JsonNode document) {
    String kind() {
      return document.path("kind").asText();
    }

    String name() {
      return document.path("metadata").path("name").asText();
    }

    @Override
    public String toString() {
      return file + " " + kind() + "/" + name();
    }
  }

  @BeforeAll
  static void load() throws IOException {
    specSchemas = new HashMap<>();
    specSchemas.put("FlinkDeployment", specSchema("flinkdeployments"));
    specSchemas.put("FlinkSessionJob", specSchema("flinksessionjobs"));
    resources = new ArrayList<>();
    try (Stream<Path> files = Files.walk(DEPLOY)) {
      for (Path file : files.filter(f -> f.toString().endsWith(".yaml")).sorted().toList()) {
        for (JsonNode document : documents(file)) {
          resources.add(new Resource(file, document));
        }
      }
    }
  }

  @Test
  void everyOperatorResourceValidatesAgainstTheOperatorsSchema() {
    List<Resource> operated = operated();
    // projection (1), one per lane (3), the session cluster and its rebuild job (2)
    assertThat(operated).hasSize(6);
    List<String> problems = new ArrayList<>();
    for (Resource resource : operated) {
      problems.addAll(
          problems(resource.document()).stream().map(p -> resource + ": " + p).toList());
    }
    assertThat(problems).isEmpty();
  }

  @Test
  void aMisspeltFieldAnUnknownVersionAndAWrongTypeAreRefused() {
    JsonNode deployment = find("FlinkDeployment", "tally-projection").document();
    assertThat(problems(deployment)).isEmpty();

    ObjectNode misspelt = deployment.deepCopy();
    JsonNode job = misspelt.path("spec").path("job");
    ((ObjectNode) job).set("upgradeMod", ((ObjectNode) job).remove("upgradeMode"));
    assertThat(problems(misspelt)).anySatisfy(p -> assertThat(p).contains("upgradeMod"));

    ObjectNode version = deployment.deepCopy();
    ((ObjectNode) version.path("spec")).put("flinkVersion", "v2_9");
    assertThat(problems(version)).anySatisfy(p -> assertThat(p).contains("flinkVersion"));

    ObjectNode parallelism = deployment.deepCopy();
    ((ObjectNode) parallelism.path("spec").path("job")).put("parallelism", "four");
    assertThat(problems(parallelism)).anySatisfy(p -> assertThat(p).contains("parallelism"));

    ObjectNode mount = deployment.deepCopy();
    JsonNode container = mount.path("spec").path("podTemplate").path("spec").path("containers");
    ((ObjectNode) container.get(0)).put("volumeMount", "typo");
    assertThat(problems(mount)).anySatisfy(p -> assertThat(p).contains("volumeMount"));
  }

  @Test
  void everyJobsArgumentsParseWithTheJobsOwnParser(@TempDir Path stand) throws IOException {
    Set<String> lanes = new HashSet<>();
    int jobs = 0;
    for (Resource resource : operated()) {
      JsonNode job = resource.document().path("spec").path("job");
      if (job.isMissingNode()) {
        continue;
      }
      jobs++;
      assertThat(job.path("entryClass").asText())
          .as(resource.toString())
          .isEqualTo(ProjectionJob.class.getName());
      List<String> args = new ArrayList<>();
      job.path("args").forEach(arg -> args.add(arg.asText()));
      Map<String, String> secretMounts = secretMounts(podOf(resource));
      for (int i = 0; i + 1 < args.size(); i++) {
        if (!args.get(i).endsWith("-file")) {
          continue;
        }
        String path = args.get(i + 1);
        assertThat(secretMounts.keySet())
            .as("%s: %s %s is in a volume mounted from a Secret", resource, args.get(i), path)
            .anyMatch(mount -> path.startsWith(mount + "/"));
        // The job reads these files while parsing: stand-ins with the same names.
        Path standIn = stand.resolve(path.substring(1));
        Files.createDirectories(standIn.getParent());
        Files.writeString(standIn, path.endsWith(".properties") ? "client.id=test\n" : "secret");
        args.set(i + 1, standIn.toString());
      }
      StringWriter out = new StringWriter();
      ProjectionConfig config =
          ProjectionOptions.parse(args.toArray(String[]::new), new PrintWriter(out))
              .orElseThrow(() -> new AssertionError(resource + " printed help: " + out));
      assertThat(config.stores().valkey().user())
          .as(resource + ": the Valkey ACL user")
          .isEqualTo("tally-job");
      assertThat(config.stores().valkey().password())
          .as(resource + ": the Valkey password")
          .isNotEmpty();
      assertThat(config.stores().jdbcPassword())
          .as(resource + ": the PostgreSQL password")
          .isNotEmpty();
      assertThat(config.stores().migrate())
          .as(resource + ": migrations run as the owner")
          .isFalse();
      if (resource.name().startsWith("tally-projection-p")) {
        assertThat(config.sources().lanes()).hasSize(1);
        lanes.add(config.sources().lanes().get(0).name());
      }
    }
    assertThat(jobs).isEqualTo(5);
    assertThat(lanes).containsExactlyInAnyOrder("P0", "P1", "P2");
  }

  @Test
  void everySecretAPodUsesIsOneOfTheExampleSecretsWithThatKey() throws IOException {
    Map<String, Set<String>> defined = new HashMap<>();
    for (JsonNode secret : documents(SECRETS)) {
      assertThat(secret.path("kind").asText()).isEqualTo("Secret");
      Set<String> keys = new HashSet<>();
      secret.path("stringData").fieldNames().forEachRemaining(keys::add);
      defined.put(secret.path("metadata").path("name").asText(), keys);
    }
    int references = 0;
    for (Resource resource : operated()) {
      JsonNode pod = resource.document().path("spec").path("podTemplate");
      for (JsonNode volume : pod.path("spec").path("volumes")) {
        if (volume.has("secret")) {
          references++;
          assertThat(defined).containsKey(volume.path("secret").path("secretName").asText());
        }
      }
      for (JsonNode container : pod.path("spec").path("containers")) {
        for (JsonNode env : container.path("env")) {
          JsonNode ref = env.path("valueFrom").path("secretKeyRef");
          if (!ref.isMissingNode()) {
            references++;
            assertThat(defined.get(ref.path("name").asText()))
                .as("%s: %s", resource, env.path("name").asText())
                .contains(ref.path("key").asText());
          }
        }
      }
    }
    assertThat(references).isGreaterThan(0);
  }

  /** The resources the operator reconciles (every other document is checked on its own). */
  private static List<Resource> operated() {
    return resources.stream().filter(r -> specSchemas.containsKey(r.kind())).toList();
  }

  private static Resource find(String kind, String name) {
    return operated().stream()
        .filter(r -> r.kind().equals(kind) && r.name().equals(name))
        .findFirst()
        .orElseThrow(() -> new AssertionError("no " + kind + "/" + name));
  }

  /** The pod template a job runs in: its own, or for a session job its session cluster's. */
  private static JsonNode podOf(Resource resource) {
    if (resource.kind().equals("FlinkSessionJob")) {
      String cluster = resource.document().path("spec").path("deploymentName").asText();
      return find("FlinkDeployment", cluster).document().path("spec").path("podTemplate");
    }
    return resource.document().path("spec").path("podTemplate");
  }

  /** Mount path → Secret name, for the main container's mounts of Secret volumes. */
  private static Map<String, String> secretMounts(JsonNode pod) {
    Map<String, String> secretOfVolume = new HashMap<>();
    for (JsonNode volume : pod.path("spec").path("volumes")) {
      if (volume.has("secret")) {
        secretOfVolume.put(
            volume.path("name").asText(), volume.path("secret").path("secretName").asText());
      }
    }
    Map<String, String> mounts = new HashMap<>();
    for (JsonNode container : pod.path("spec").path("containers")) {
      if (!container.path("name").asText().equals("flink-main-container")) {
        continue;
      }
      for (JsonNode mount : container.path("volumeMounts")) {
        String secret = secretOfVolume.get(mount.path("name").asText());
        if (secret != null) {
          mounts.put(mount.path("mountPath").asText(), secret);
        }
      }
    }
    return mounts;
  }

  /** What is wrong with one operator resource; empty when it would be accepted. */
  private static List<String> problems(JsonNode document) {
    List<String> problems = new ArrayList<>();
    if (!API_VERSION.equals(document.path("apiVersion").asText())) {
      problems.add("apiVersion is not " + API_VERSION);
    }
    if (document.path("metadata").path("name").asText().isEmpty()) {
      problems.add("metadata.name is missing");
    }
    Iterator<String> fields = document.fieldNames();
    while (fields.hasNext()) {
      String field = fields.next();
      if (!Set.of("apiVersion", "kind", "metadata", "spec").contains(field)) {
        problems.add("unknown top-level field " + field);
      }
    }
    JsonSchema schema = specSchemas.get(document.path("kind").asText());
    for (ValidationMessage message : schema.validate(document.path("spec"))) {
      problems.add("spec" + message.getInstanceLocation().toString().substring(1) + ": " + message);
    }
    return problems;
  }

  /**
   * The {@code spec} schema of one of the operator's CRDs, made strict: an object that lists its
   * properties takes no others unless the schema keeps unknown fields, as {@code kubectl apply}
   * (strict field validation, its default) refuses them; {@link #FLINK_VERSION} accepted.
   */
  private static JsonSchema specSchema(String plural) throws IOException {
    String resource = "META-INF/fabric8/" + plural + ".flink.apache.org-v1.yml";
    JsonNode crd;
    try (InputStream in =
        KubernetesManifestsTest.class.getClassLoader().getResourceAsStream(resource)) {
      if (in == null) {
        throw new IllegalStateException(resource + " is not on the classpath");
      }
      crd = YAML.readTree(in);
    }
    JsonNode version = crd.path("spec").path("versions").get(0);
    assertThat(version.path("name").asText()).isEqualTo("v1beta1");
    ObjectNode spec =
        (ObjectNode) version.path("schema").path("openAPIV3Schema").path("properties").path("spec");
    JsonNode flinkVersions = spec.path("properties").path("flinkVersion").path("enum");
    if (flinkVersions.isArray()) {
      ((ArrayNode) flinkVersions).add(FLINK_VERSION);
    }
    strict(spec);
    return JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V4).getSchema(spec);
  }

  private static void strict(JsonNode schema) {
    if (schema instanceof ObjectNode object) {
      if (object.has("properties")
          && !object.has("additionalProperties")
          && !object.path("x-kubernetes-preserve-unknown-fields").asBoolean(false)) {
        object.put("additionalProperties", false);
      }
      object.elements().forEachRemaining(KubernetesManifestsTest::strict);
    } else if (schema instanceof ArrayNode array) {
      array.elements().forEachRemaining(KubernetesManifestsTest::strict);
    }
  }

  /** Every YAML document of a file. */
  private static List<JsonNode> documents(Path file) throws IOException {
    List<JsonNode> documents = new ArrayList<>();
    try (YAMLParser parser = new YAMLFactory().createParser(file.toFile())) {
      Iterator<JsonNode> each = YAML.readValues(parser, JsonNode.class);
      while (each.hasNext()) {
        JsonNode document = each.next();
        if (document != null && !document.isNull() && !document.isEmpty()) {
          documents.add(document);
        }
      }
    }
    return documents;
  }
}
