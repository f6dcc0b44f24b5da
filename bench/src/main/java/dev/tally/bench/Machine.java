package dev.tally.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** What the figures were measured on. */
final class Machine {

  private Machine() {}

  static Map<String, Object> describe() {
    Map<String, Object> machine = new LinkedHashMap<>();
    machine.put("cpu", firstValue("/proc/cpuinfo", "model name"));
    machine.put("cores", Runtime.getRuntime().availableProcessors());
    String memKb = firstValue("/proc/meminfo", "MemTotal");
    machine.put(
        "memoryGiB",
        memKb.isEmpty()
            ? null
            : Math.round(Long.parseLong(memKb.replaceAll("[^0-9]", "")) / 1048576.0));
    machine.put("os", firstValue("/etc/os-release", "PRETTY_NAME").replace("\"", ""));
    machine.put(
        "java", System.getProperty("java.vm.name") + " " + System.getProperty("java.version"));
    machine.put(
        "stack",
        "everything co-located: Kafka 4.2 (KRaft, 1 broker), valkey-server, PostgreSQL 15, Flink 2.2.1 session cluster (1 JM, 1 TM with 4 slots)");
    return machine;
  }

  private static String firstValue(String file, String key) {
    try {
      for (String line : Files.readAllLines(Path.of(file))) {
        int sep = line.indexOf(line.contains("=") && !line.contains(":") ? '=' : ':');
        if (sep > 0 && line.substring(0, sep).trim().equals(key)) {
          return line.substring(sep + 1).trim();
        }
      }
    } catch (IOException e) {
      return "";
    }
    return "";
  }
}
