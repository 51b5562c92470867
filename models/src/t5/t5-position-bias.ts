/**
 * T5's attention bias inside the graph (t5-graph.ts): the relative-position bias of block 0's
 * table, which every block shares, plus the lowest float on padding keys.
 */
import { attr, type GraphBuilder } from '../onnx/graph-builder.ts';
import { ONNX_DATA_TYPE } from '../onnx/proto.ts';
import type { T5EncoderConfig } from './config.ts';
import { weightTensor, type T5WeightDType } from './t5-fp16.ts';
import type { T5WeightReader } from './weights.ts';

/** Additive mask on padding keys: float32's lowest value, as transformers uses. */
const FLOAT32_MIN = -3.4028234663852886e38;
const FLOAT16_MIN = -65504;

/**
 * [batch, heads, tokens, tokens]: bias[h, i, j] = table[bucket(j − i), h], plus the lowest
 * float on padding keys. The buckets of every relative distance are computed here once
 * (they saturate at max_distance), so the graph only gathers.
 */
export function positionBias(
  g: GraphBuilder,
  weights: T5WeightReader,
  config: T5EncoderConfig,
  attentionMask: string,
  inputIds: string,
  activationType: T5WeightDType,
): string {
  const { relativeAttentionNumBuckets: buckets, numHeads: heads } = config;
  const reach = config.relativeAttentionMaxDistance;
  const table = g.initializer(
    'relative_attention_bias',
    activationType,
    [buckets, heads],
    async () =>
      weightTensor(
        await weights.readFloat32(
          'encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight',
          [buckets, heads],
        ),
        [buckets, heads],
        activationType,
        'relative_attention_bias',
        ['encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight'],
      ),
  );
  const bucketOfOffset = Array.from({ length: 2 * reach + 1 }, (_, index) =>
    BigInt(relativePositionBucket(index - reach, buckets, reach)),
  );
  const biasOfOffset = g.op(
    'Gather',
    [table, g.constant('int64', [2 * reach + 1], bucketOfOffset)],
    {
      axis: attr.i(0),
    },
  );
  const length = g.op('Squeeze', [
    g.op('Shape', [inputIds], { start: attr.i(1), end: attr.i(2) }),
    g.ints([0]),
  ]);
  const zero = g.constant('int64', [], [0n]);
  const one = g.constant('int64', [], [1n]);
  const positions = g.op('Range', [zero, length, one]);
  const offsets = g.op('Sub', [
    g.op('Unsqueeze', [positions, g.ints([0])]),
    g.op('Unsqueeze', [positions, g.ints([1])]),
  ]);
  const clipped = g.op('Clip', [
    offsets,
    g.constant('int64', [], [BigInt(-reach)]),
    g.constant('int64', [], [BigInt(reach)]),
  ]);
  const index = g.op('Add', [clipped, g.constant('int64', [], [BigInt(reach)])]);
  const bias = g.op('Unsqueeze', [
    g.op('Transpose', [g.op('Gather', [biasOfOffset, index], { axis: attr.i(0) })], {
      perm: attr.ints([2, 0, 1]),
    }),
    g.ints([0]),
  ]);
  const float = ONNX_DATA_TYPE[activationType];
  const padding = g.op('Cast', [g.op('Sub', [one, attentionMask])], { to: attr.i(float) });
  const maskBias = g.op('Unsqueeze', [
    g.op('Mul', [
      padding,
      g.scalar(activationType === 'float16' ? FLOAT16_MIN : FLOAT32_MIN, activationType),
    ]),
    g.ints([1, 2]),
  ]);
  return g.op('Add', [bias, maskBias]);
}

/**
 * Transformers' bidirectional bucket of a relative position j − i: exact below
 * max_exact = buckets/4, then logarithmic up to max_distance, positive offsets in the upper
 * half. Computed in float64: at the integer boundaries (|r| = 16, 32, 64 for the defaults) the
 * float32 logs of the reference land on the same exact quotients, so both agree everywhere.
 */
export function relativePositionBucket(
  relativePosition: number,
  numBuckets: number,
  maxDistance: number,
): number {
  const half = Math.floor(numBuckets / 2);
  const maxExact = Math.floor(half / 2);
  const distance = Math.abs(relativePosition);
  const base = relativePosition > 0 ? half : 0;
  if (distance < maxExact) return base + distance;
  const large =
    maxExact +
    Math.trunc(
      (Math.log(distance / maxExact) / Math.log(maxDistance / maxExact)) * (half - maxExact),
    );
  return base + Math.min(large, half - 1);
}
