/**
 * A seeded pseudo-random generator (xoshiro128**, seeded through splitmix32) that gives the
 * same numbers on every machine and Node version: integer arithmetic only, plus `Math.log`,
 * `Math.sqrt` and `Math.cos`, which V8 computes with its own portable (fdlibm) code.
 *
 * `stream(label)` derives an independent generator per tensor, so a tensor's values depend only
 * on the seed and its name, not on which tensors come before it.
 */

export class SeededRandom {
  private readonly state: Uint32Array;
  private spareNormal: number | undefined;

  constructor(private readonly seed: number) {
    this.state = new Uint32Array(4);
    let mix = seed >>> 0;
    for (let i = 0; i < 4; i++) {
      mix = (mix + 0x9e3779b9) >>> 0;
      let z = mix;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      this.state[i] = (z ^ (z >>> 16)) >>> 0;
    }
    if (this.state.every((word) => word === 0)) this.state[0] = 1;
  }

  /** A generator of its own for `label` (e.g. a tensor name). */
  stream(label: string): SeededRandom {
    // FNV-1a over the label's UTF-16 units, mixed with this generator's seed.
    let hash = 0x811c9dc5 ^ this.seed;
    for (let i = 0; i < label.length; i++) {
      hash = Math.imul(hash ^ label.charCodeAt(i), 0x01000193);
    }
    return new SeededRandom(hash >>> 0);
  }

  /** Next 32 random bits. */
  nextUint32(): number {
    const s = this.state;
    let s0 = s[0] ?? 0;
    let s1 = s[1] ?? 0;
    let s2 = s[2] ?? 0;
    let s3 = s[3] ?? 0;
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = rotl(s3, 11);
    s.set([s0, s1, s2, s3]);
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

function rotl(value: number, bits: number): number {
  return ((value << bits) | (value >>> (32 - bits))) >>> 0;
}
