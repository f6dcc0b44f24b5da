package dev.tally.jobs.ladder;

import dev.tally.common.events.Lane;
import dev.tally.jobs.decode.DeadLetter;
import dev.tally.jobs.decode.FoldEvent;
import dev.tally.jobs.decode.SourceRecord;
import dev.tally.jobs.projection.ByUser;
import dev.tally.jobs.projection.ProjectionConfig;
import dev.tally.jobs.projection.ProjectionJob;
import dev.tally.jobs.projection.ProjectionOptions;
import dev.tally.jobs.projection.ProjectionSinks;
import dev.tally.jobs.views.View;
import dev.tally.jobs.views.ViewContext;
import dev.tally.jobs.views.Views;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.flink.api.connector.source.Source;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;
import org.apache.flink.util.Collector;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Unmatched;

/**
 * The projection job cut after one stage, everything after it discarded: {@code make bench} and
 * {@code make bench-ladder} run each rung on the same preloaded log, so a change shows which stage
 * it moved. Takes the projection job's options plus {@code --rung}.
 *
 * <p>Rungs, cumulative: {@code floor} (the lane sources with the real deserializer and watermarks
 * into a discarding sink: what Flink itself costs), {@code shuffle} (+ admission and the
 * key-by-user shuffle into a no-op keyed function), {@code project} (+ the projection operator:
 * dedup in RocksDB, the user views' state, count deltas; its outputs discarded), {@code fold} (the
 * whole topology, count views included, with discarding sinks), {@code full} (the real job).
 */
@Command(
    name = "ladder-job",
    mixinStandardHelpOptions = true,
    description = "The projection job cut after one stage (benchmarks).")
public final class LadderJob {

  /** A stage to cut after. */
  public enum Rung {
    FLOOR,
    SHUFFLE,
    PROJECT,
    FOLD,
    FULL;

    public String code() {
      return name().toLowerCase();
    }
  }

  @Option(names = "--rung", required = true, description = "floor, shuffle, project, fold or full.")
  String rung;

  @Option(
      names = "--flink-config",
      description =
          "A Flink configuration entry for this run, key=value; repeatable (settings are measured,"
              + " not guessed).")
  Map<String, String> flinkConfig = new java.util.LinkedHashMap<>();

  @Unmatched List<String> projectionArgs = new ArrayList<>();

  private LadderJob() {}

  public static void main(String[] args) throws Exception {
    LadderJob ladder = new LadderJob();
    CommandLine commandLine = new CommandLine(ladder);
    commandLine.setUnmatchedArgumentsAllowed(true);
    commandLine.parseArgs(args);
    if (commandLine.isUsageHelpRequested()) {
      commandLine.usage(System.out);
      return;
    }
    Rung rung = parseRung(ladder.rung);
    Optional<ProjectionConfig> parsed =
        ProjectionOptions.parse(
            ladder.projectionArgs.toArray(String[]::new), new PrintWriter(System.out));
    if (parsed.isEmpty()) {
      return;
    }
    ProjectionConfig config = parsed.get();
    Map<Lane, Source<SourceRecord, ?, ?>> sources = ProjectionJob.kafkaSources(config);
    org.apache.flink.configuration.Configuration flink = ProjectionJob.flinkConfiguration(config);
    flink.addAll(org.apache.flink.configuration.Configuration.fromMap(ladder.flinkConfig));
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(flink);
    build(env, rung, sources, config);
    env.execute("tally-ladder " + rung.code() + " " + config.writer());
  }

  static Rung parseRung(String text) {
    for (Rung rung : Rung.values()) {
      if (rung.code().equals(text)) {
        return rung;
      }
    }
    throw new IllegalArgumentException(
        "--rung '" + text + "' is not one of floor, shuffle, project, fold, full");
  }

  /** The rung's topology over every lane. */
  public static void build(
      StreamExecutionEnvironment env,
      Rung rung,
      Map<Lane, Source<SourceRecord, ?, ?>> sources,
      ProjectionConfig config) {
    switch (rung) {
      case FULL -> {
        if (config.stores().jdbcUrl() != null) {
          ProjectionJob.migrate(config);
        }
        ProjectionJob.build(env, sources, ProjectionJob.productionSinks(config), config);
      }
      case FOLD ->
          ProjectionJob.build(
              env,
              sources,
              new ProjectionSinks(
                  new DiscardingSink<>(), new DiscardingSink<>(), new DiscardingSink<DeadLetter>()),
              config);
      default -> {
        ProjectionJob.configure(env, config);
        sources.forEach(
            (lane, source) -> {
              DataStream<SourceRecord> records =
                  ProjectionJob.laneRecords(env, lane, source, config);
              String name = lane.name().toLowerCase();
              if (rung == Rung.FLOOR) {
                records.sinkTo(new DiscardingSink<>()).name("discard (" + name + ")");
                return;
              }
              ViewContext context = config.viewContext(name);
              List<View> views = Views.all();
              DataStream<FoldEvent> admitted = ProjectionJob.admit(records, views, context, config);
              if (rung == Rung.SHUFFLE) {
                admitted
                    .keyBy(new ByUser())
                    .process(new PassThrough())
                    .name("no-op (" + name + ")")
                    .sinkTo(new DiscardingSink<>())
                    .name("discard (" + name + ")");
                return;
              }
              ProjectionJob.project(admitted, views, context, config)
                  .sinkTo(new DiscardingSink<>())
                  .name("discard (" + name + ")");
            });
      }
    }
  }

  /** The shuffle rung's keyed function: hands every event on. */
  static final class PassThrough extends KeyedProcessFunction<String, FoldEvent, FoldEvent> {
    private static final long serialVersionUID = 1L;

    @Override
    public void processElement(FoldEvent event, Context context, Collector<FoldEvent> out) {
      out.collect(event);
    }
  }
}
