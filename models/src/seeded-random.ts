/**
 * Zeus' one seeded pseudo-random generator, for everything that needs numbers that are random
 * but the same on every run: the tiny-random model's weights, random weights and inputs of
 * benchmarks and tests, the synthetic videos of the preview fit. (The sampler's noise is not
 * drawn here: it follows its own documented generator, inference/src/sampler/noise.ts.)
 *
 * xoshiro128** (Blackman and Vigna), seeded through splitmix32: the same numbers on every
 * machine and Node version, from integer arithmetic only, plus `Math.log`, `Math.sqrt`,
 * `Math.cos` and `Math.sin`, which V8 computes with its own portable (fdlibm) code.
 *
 * `stream(label)` derives an independent generator per label, so a tensor's values depend only
 * on the seed and its name, not on which tensors come before it.
 */
export class SeededRandom {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spareNormal: number | undefined;

  constructor(private readonly seed: number) {
    const words: number[] = [];
    let mix = seed >>> 0;
    for (let i = 0; i < 4; i++) {
      mix = (mix + 0x9e3779b9) >>> 0;
      let z = mix;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      words.push(z ^ (z >>> 16));
    }
    [this.s0, this.s1, this.s2, this.s3] = words as [number, number, number, number];
    if (this.s0 === 0 && this.s1 === 0 && this.s2 === 0 && this.s3 === 0) this.s0 = 1;
  }

  /** A generator of its own for `label` (e.g. a tensor name). */
  stream(label: string): SeededRandom {
    // FNV-1a over the label's UTF-16 units, mixed with this generator's seed: not a digest of
    // node:crypto, because the tiny model's bytes (and cached copies of it) depend on it.
    let hash = 0x811c9dc5 ^ this.seed;
    for (let i = 0; i < label.length; i++) {
      hash = Math.imul(hash ^ label.charCodeAt(i), 0x01000193);
    }
    return new SeededRandom(hash >>> 0);
  }

  /** Next 32 random bits. */
  nextUint32(): number {
    // The state is kept as int32 (XOR and shifts see the same 32 bits), which V8 holds unboxed.
    const s1 = this.s1;
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    const s2 = this.s2 ^ this.s0;
    const s3 = this.s3 ^ s1;
    this.s1 = s1 ^ s2;
    this.s0 = this.s0 ^ s3;
    this.s2 = s2 ^ t;
    this.s3 = rotl(s3, 11);
    return result;
  }

  /** Uniform in [0, 1). */
  uniform(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform in [low, high). */
  between(low: number, high: number): number {
    return low + (high - low) * this.uniform();
  }

  /** Standard normal (Box–Muller). */
  normal(): number {
    if (this.spareNormal !== undefined) {
      const spare = this.spareNormal;
      this.spareNormal = undefined;
      return spare;
    }
    // 1 − u is in (0, 1], so the logarithm is finite.
    const radius = Math.sqrt(-2 * Math.log(1 - this.uniform()));
    const angle = 2 * Math.PI * this.uniform();
    this.spareNormal = radius * Math.sin(angle);
    return radius * Math.cos(angle);
  }
}

/** `value` rotated left by `bits`, as int32. */
function rotl(value: number, bits: number): number {
  return (value << bits) | (value >>> (32 - bits));
}
