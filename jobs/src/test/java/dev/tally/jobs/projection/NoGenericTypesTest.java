package dev.tally.jobs.projection;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import dev.tally.common.events.Lane;
import dev.tally.jobs.decode.SourceRecord;
import dev.tally.jobs.views.UserView;
import dev.tally.jobs.views.View;
import dev.tally.jobs.views.Views;
import java.util.Map;
import org.apache.flink.api.common.serialization.SerializerConfigImpl;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.connector.source.Source;
import org.apache.flink.api.java.typeutils.runtime.kryo.KryoSerializer;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.PipelineOptions;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.graph.StreamGraph;
import org.apache.flink.streaming.api.graph.StreamNode;
import org.junit.jupiter.api.Test;

/**
 * Every record passed between operators and every view's keyed state has a serializer of its own
 * (POJO, row, tuple or a hand-written one): none falls back to Kryo, whose bytes change with the
 * class and its registration order, so a savepoint would not restore across versions.
 */
class NoGenericTypesTest {

  @Test
  void theProjectionBuildsWithGenericTypesDisabled() {
    Configuration settings = new Configuration();
    settings.set(PipelineOptions.GENERIC_TYPES, false);
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(settings);
    ProjectionConfig config =
        ProjectionOptions.parse(
                new String[] {
                  "--bootstrap-servers", "127.0.0.1:1",
                  "--valkey", "redis://127.0.0.1:2",
                  "--jdbc-url", "jdbc:postgresql://127.0.0.1:3/tally"
                },
                new java.io.PrintWriter(java.io.Writer.nullWriter()))
            .orElseThrow();
    Map<Lane, Source<SourceRecord, ?, ?>> sources =
        ProjectionTestSetup.sources(config, OffsetsInitializer.latest());
    ProjectionJob.build(env, sources, ProjectionJob.productionSinks(config), config);

    // With generic types disabled, a record type that would need Kryo fails here.
    StreamGraph graph = env.getStreamGraph();
    assertThat(graph.getStreamNodes()).hasSizeGreaterThan(10);
    for (StreamNode node : graph.getStreamNodes()) {
      for (TypeSerializer<?> in : node.getTypeSerializersIn()) {
        assertThat(in)
            .as("input of %s", node.getOperatorName())
            .isNotInstanceOf(KryoSerializer.class);
      }
      if (node.getTypeSerializerOut() != null) {
        assertThat(node.getTypeSerializerOut())
            .as("output of %s", node.getOperatorName())
            .isNotInstanceOf(KryoSerializer.class);
      }
    }
  }

  @Test
  void everyViewsStateHasASerializerWithoutKryo() {
    SerializerConfigImpl noGenerics = new SerializerConfigImpl();
    noGenerics.setGenericTypes(false);
    int userViews = 0;
    for (View view : Views.all()) {
      if (view instanceof UserView<?> user) {
        userViews++;
        assertThatCode(() -> user.stateType().createSerializer(noGenerics))
            .as("state of view %s (%s)", view.name(), user.stateType())
            .doesNotThrowAnyException();
      }
    }
    assertThat(userViews).as("views with per-user state").isGreaterThan(0);
  }
}
