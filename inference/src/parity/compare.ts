/** Largest |a[i] - b[i]|; NaN anywhere counts as an infinite error. Lengths must match. */
export function maxAbsDiff(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) {
    throw new Error(`Length mismatch: ${actual.length} values against ${expected.length}`);
  }
  let max = 0;
  for (let i = 0; i < actual.length; i++) {
    const diff = Math.abs((actual[i] ?? NaN) - (expected[i] ?? NaN));
    if (Number.isNaN(diff)) return Infinity;
    if (diff > max) max = diff;
  }
  return max;
}
