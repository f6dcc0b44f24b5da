package dev.tally.common.generator;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Draws ranks {@code 0..n-1} with probability proportional to {@code 1 / (rank+1)^exponent}: a few
 * hot keys and a long tail. Exponent 0 is uniform. Inverse-CDF over a precomputed table: O(n)
 * memory once, O(log n) per draw.
 */
final class ZipfSampler {

  private final double[] cumulative;

  ZipfSampler(int n, double exponent) {
    if (n < 1) {
      throw new IllegalArgumentException("need at least one key, got " + n);
    }
    if (exponent < 0) {
      throw new IllegalArgumentException("Zipf exponent must be >= 0, got " + exponent);
    }
    cumulative = new double[n];
    double total = 0;
    for (int rank = 0; rank < n; rank++) {
      total += 1.0 / Math.pow(rank + 1, exponent);
      cumulative[rank] = total;
    }
    for (int rank = 0; rank < n; rank++) {
      cumulative[rank] /= total;
    }
  }

  int next(SplittableRandom random) {
    double u = random.nextDouble();
    int index = Arrays.binarySearch(cumulative, u);
    int rank = index >= 0 ? index : -index - 1;
    return Math.min(rank, cumulative.length - 1);
  }
}
