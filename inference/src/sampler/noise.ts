/**
 * Gaussian noise for the sampler.
 *
 * `SeededNoise` is Zeus' own generator: deterministic on every machine, fast, and documented
 * here completely so that anyone can reproduce a video from its seed:
 *
 * - Uniform bits come from Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as
 *   1, 2, 3", SC 2011; the generator of cuRAND and JAX), a counter-based generator: block k of
 *   a stream is philox(counter = [k mod 2³², ⌊k / 2³²⌋, stream, 0], key = [seed mod 2³²,
 *   ⌊seed / 2³²⌋]), four 32-bit words.
 * - Each block gives four normals by the Box–Muller transform over two word pairs (a, b):
 *   u = (a + 1)·2⁻³², v = b·2⁻³², r = √(−2 ln u), normals r·cos(2πv) and r·sin(2πv), computed
 *   in float64 (V8's fdlibm-derived Math functions are the same on every platform) and rounded
 *   to float32.
 * - Draws are read sequentially from stream 0 by two readers, mirroring the reference
 *   pipeline's two random generators seeded with the same seed: 'pipeline' (the initial
 *   latents) and 'global' (the per-step and decode noise), each at its own position. As in the
 *   reference, the first step's noise therefore equals the initial noise, which makes the
 *   first stochastic step effectively deterministic — a property of the official sampler
 *   that Zeus keeps.
 *
 * `ReplayNoise` returns recorded draws instead (the reference's, in `rng_draw_order`), so that
 * a whole pipeline run can be compared with the official one.
 */

/** Which of the reference pipeline's two random generators a draw comes from. */
export type NoiseGenerator = 'pipeline' | 'global';

export interface NoiseRequest {
  /** The draw's name, as in the reference's `rng_draw_order` without `pipeline.noise.`:
   *  'initial', 'step_0' … 'step_7', 'decode'; image-to-video adds 'encode' and
   *  'conditioning_0' … 'conditioning_7'. */
  readonly name: string;
  readonly shape: readonly number[];
  readonly generator: NoiseGenerator;
}

/** A source of standard normal draws, asked for them in the pipeline's draw order. */
export interface NoiseSource {
  draw(request: NoiseRequest): Float32Array;
  /**
   * The same draw, taken now in the draw order, whose values may be computed elsewhere (a
   * helper thread) while the caller runs a model: resolves with exactly what `draw` would have
   * returned. Sources without it are asked with `draw`.
   */
  drawAhead?(request: NoiseRequest): Promise<Float32Array>;
}

/** `gaussian(seed, stream, start, count)` computed elsewhere (e.g. SamplerHelper's thread). */
export type GaussianWorker = (
  seed: number,
  stream: number,
  start: number,
  count: number,
) => Promise<Float32Array>;

/** `source.drawAhead(request)` where the source has it, else `draw` now. */
export function drawAhead(source: NoiseSource, request: NoiseRequest): Promise<Float32Array> {
  if (source.drawAhead !== undefined) return source.drawAhead(request);
  try {
    return Promise.resolve(source.draw(request));
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
}

export class NoiseError extends Error {
  override readonly name = 'NoiseError';
}

/** The draws of a text-to-video run, in order (docs/model/pipeline.md §6.3). */
export const noiseDraws = {
  initial: (shape: readonly number[]): NoiseRequest => ({
    name: 'initial',
    shape,
    generator: 'pipeline',
  }),
  step: (index: number, shape: readonly number[]): NoiseRequest => ({
    name: `step_${index}`,
    shape,
    generator: 'global',
  }),
  decode: (shape: readonly number[]): NoiseRequest => ({
    name: 'decode',
    shape,
    generator: 'global',
  }),
  /**
   * Image-to-video: the posterior draw of the conditioning image's encoding
   * (`latent_dist.sample()`, the global RNG, after the initial latents).
   */
  encode: (shape: readonly number[]): NoiseRequest => ({
    name: 'encode',
    shape,
    generator: 'global',
  }),
  /** Image-to-video: the noise added to the conditioned tokens before step `index`. */
  conditioning: (index: number, shape: readonly number[]): NoiseRequest => ({
    name: `conditioning_${index}`,
    shape,
    generator: 'pipeline',
  }),
};

export class SeededNoise implements NoiseSource {
  /** Normals consumed so far, per generator. */
  private readonly position: Record<NoiseGenerator, number> = { pipeline: 0, global: 0 };

  constructor(
    readonly seed: number,
    /** Where `drawAhead` computes its values (default: here, at once). */
    private readonly worker?: GaussianWorker,
  ) {
    if (!Number.isSafeInteger(seed) || seed < 0) {
      throw new NoiseError(`The seed must be a non-negative safe integer, got ${seed}`);
    }
  }

  draw(request: NoiseRequest): Float32Array {
    const count = request.shape.reduce((product, dim) => product * dim, 1);
    const start = this.position[request.generator];
    this.position[request.generator] = start + count;
    return gaussian(this.seed, 0, start, count);
  }

  drawAhead(request: NoiseRequest): Promise<Float32Array> {
    if (this.worker === undefined) return Promise.resolve(this.draw(request));
    const count = request.shape.reduce((product, dim) => product * dim, 1);
    const start = this.position[request.generator];
    this.position[request.generator] = start + count;
    return this.worker(this.seed, 0, start, count);
  }
}

/** Normals `start` … `start + count − 1` of a stream (see the module comment). */
export function gaussian(seed: number, stream: number, start: number, count: number): Float32Array {
  const out = new Float32Array(count);
  const key0 = seed % 2 ** 32;
  const key1 = Math.floor(seed / 2 ** 32);
  const block = new Uint32Array(4);
  let index = 0;
  let blockIndex = Math.floor(start / 4);
  let skip = start % 4;
  while (index < count) {
    philox4x32(
      blockIndex % 2 ** 32,
      Math.floor(blockIndex / 2 ** 32),
      stream,
      0,
      key0,
      key1,
      block,
    );
    for (let pair = 0; pair < 2 && index < count; pair++) {
      const u = ((block[2 * pair] ?? 0) + 1) * 2 ** -32;
      const v = (block[2 * pair + 1] ?? 0) * 2 ** -32;
      const radius = Math.sqrt(-2 * Math.log(u));
      const angle = 2 * Math.PI * v;
      if (skip > 0) skip--;
      else out[index++] = radius * Math.cos(angle);
      if (index >= count) break;
      if (skip > 0) skip--;
      else out[index++] = radius * Math.sin(angle);
    }
    blockIndex++;
  }
  return out;
}

const PHILOX_M0 = 0xd2511f53;
const PHILOX_M1 = 0xcd9e8d57;
const PHILOX_W0 = 0x9e3779b9;
const PHILOX_W1 = 0xbb67ae85;

/** Philox4x32-10 of one counter under one key, into `out` (four 32-bit words). */
export function philox4x32(
  counter0: number,
  counter1: number,
  counter2: number,
  counter3: number,
  key0: number,
  key1: number,
  out: Uint32Array,
): void {
  let c0 = counter0 >>> 0;
  let c1 = counter1 >>> 0;
  let c2 = counter2 >>> 0;
  let c3 = counter3 >>> 0;
  let k0 = key0 >>> 0;
  let k1 = key1 >>> 0;
  for (let round = 0; round < 10; round++) {
    const hi0 = mulHi(PHILOX_M0, c0);
    const lo0 = Math.imul(PHILOX_M0, c0) >>> 0;
    const hi1 = mulHi(PHILOX_M1, c2);
    const lo1 = Math.imul(PHILOX_M1, c2) >>> 0;
    c0 = (hi1 ^ c1 ^ k0) >>> 0;
    c1 = lo1;
    c2 = (hi0 ^ c3 ^ k1) >>> 0;
    c3 = lo0;
    k0 = (k0 + PHILOX_W0) >>> 0;
    k1 = (k1 + PHILOX_W1) >>> 0;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
}

/** The upper 32 bits of the 64-bit product of two unsigned 32-bit integers. */
function mulHi(a: number, b: number): number {
  const aHigh = a >>> 16;
  const aLow = a & 0xffff;
  const bHigh = b >>> 16;
  const bLow = b & 0xffff;
  const lowLow = aLow * bLow;
  const lowHigh = aLow * bHigh;
  const highLow = aHigh * bLow;
  const carry = (lowLow >>> 16) + (lowHigh & 0xffff) + (highLow & 0xffff);
  return (aHigh * bHigh + (lowHigh >>> 16) + (highLow >>> 16) + (carry >>> 16)) >>> 0;
}

/** Recorded draws (e.g. the reference's), returned in order; each request must match. */
export class ReplayNoise implements NoiseSource {
  private next = 0;

  constructor(
    private readonly draws: readonly {
      readonly name: string;
      readonly shape: readonly number[];
      readonly values: Float32Array;
    }[],
  ) {}

  draw(request: NoiseRequest): Float32Array {
    const recorded = this.draws[this.next];
    if (recorded === undefined) {
      throw new NoiseError(`No recorded draw left for "${request.name}"`);
    }
    const sameShape =
      recorded.shape.length === request.shape.length &&
      recorded.shape.every((dim, axis) => dim === request.shape[axis]);
    if (recorded.name !== request.name || !sameShape) {
      throw new NoiseError(
        `Draw ${this.next} was recorded as "${recorded.name}" [${recorded.shape.join(', ')}], ` +
          `but "${request.name}" [${request.shape.join(', ')}] was asked for`,
      );
    }
    this.next++;
    return recorded.values;
  }

  /** Draws not yet asked for (a full replay ends with none). */
  get remaining(): number {
    return this.draws.length - this.next;
  }
}
