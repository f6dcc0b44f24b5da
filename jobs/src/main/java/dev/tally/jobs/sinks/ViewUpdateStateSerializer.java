package dev.tally.jobs.sinks;

import dev.tally.common.views.ViewUpdate;
import java.io.IOException;
import org.apache.flink.core.io.SimpleVersionedSerializer;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;

/**
 * A writer's unwritten updates in a checkpoint (the PostgreSQL writer's state, {@link
 * BatchedWriter.AtBarrier#CARRY_OVER}). Version 1: view, key, writer, version, partial, rank set,
 * rank member, rank field (each string with a presence byte), source timestamp.
 */
final class ViewUpdateStateSerializer implements SimpleVersionedSerializer<ViewUpdate> {

  static final ViewUpdateStateSerializer INSTANCE = new ViewUpdateStateSerializer();

  private ViewUpdateStateSerializer() {}

  @Override
  public int getVersion() {
    return 1;
  }

  @Override
  public byte[] serialize(ViewUpdate update) throws IOException {
    DataOutputSerializer out = new DataOutputSerializer(128);
    writeString(out, update.view);
    writeString(out, update.key);
    writeString(out, update.writer);
    out.writeLong(update.version);
    writeString(out, update.partial);
    writeString(out, update.rankSet);
    writeString(out, update.rankMember);
    writeString(out, update.rankField);
    out.writeLong(update.sourceTimestamp);
    return out.getCopyOfBuffer();
  }

  @Override
  public ViewUpdate deserialize(int version, byte[] serialized) throws IOException {
    if (version != 1) {
      throw new IOException(
          "unknown version " + version + " of a PostgreSQL writer's state (this build reads 1)");
    }
    DataInputDeserializer in = new DataInputDeserializer(serialized);
    ViewUpdate update = new ViewUpdate();
    update.view = readString(in);
    update.key = readString(in);
    update.writer = readString(in);
    update.version = in.readLong();
    update.partial = readString(in);
    update.rankSet = readString(in);
    update.rankMember = readString(in);
    update.rankField = readString(in);
    update.sourceTimestamp = in.readLong();
    return update;
  }

  private static void writeString(DataOutputSerializer out, String value) throws IOException {
    out.writeBoolean(value != null);
    if (value != null) {
      out.writeUTF(value);
    }
  }

  private static String readString(DataInputDeserializer in) throws IOException {
    return in.readBoolean() ? in.readUTF() : null;
  }
}
