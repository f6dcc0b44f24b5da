package dev.tally.common.flink;

/**
 * The projection job's options that its tools (replay, the bench, the CLI) read from its published
 * options ({@link PublishedOptions}) or set when they start or restart it: named here once, with
 * the defaults the job's own option parser applies. Tools never apply these defaults themselves:
 * they read the values the job resolved.
 */
public final class ProjectionContract {

  /** The job's main class in the jobs jar. */
  public static final String ENTRY_CLASS = "dev.tally.jobs.projection.ProjectionJob";

  public static final String BOOTSTRAP_SERVERS = "--bootstrap-servers";
  public static final String KAFKA_PROPERTIES_FILE = "--kafka-properties-file";
  public static final String TOPIC_PREFIX = "--topic-prefix";
  public static final String TOPIC_PREFIX_DEFAULT = "";
  public static final String LANES = "--lanes";
  public static final String LANES_DEFAULT = "p0,p1,p2";
  public static final String GROUP_ID = "--group-id";
  public static final String GROUP_ID_DEFAULT = "tally-projection";
  public static final String START = "--start";
  public static final String STOP = "--stop";
  public static final String SOURCE_ID = "--source-id";
  public static final String SOURCE_ID_DEFAULT = "";
  public static final String CHECKPOINT_INTERVAL = "--checkpoint-interval";
  public static final String VALKEY = "--valkey";
  public static final String VALKEY_CLUSTER = "--valkey-cluster";
  public static final String JDBC_URL = "--jdbc-url";
  public static final String JDBC_USER = "--jdbc-user";
  public static final String JDBC_USER_DEFAULT = "tally";
  public static final String GENERATION = "--generation";
  public static final String GENERATION_DEFAULT = "1";
  public static final String WRITER = "--writer";
  public static final String WRITER_DEFAULT = "live";
  public static final String PARALLELISM = "--parallelism";

  /** {@code --start} of a job restored from a savepoint: its sources keep their saved offsets. */
  public static final String START_COMMITTED = "committed";

  private ProjectionContract() {}
}
