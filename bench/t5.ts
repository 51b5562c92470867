/**
 * Times the text-encoder stage: tokenising a prompt and running the T5 encoder on it, with
 * random weights of a chosen size (the real T5-XXL is --d-model 4096 --heads 64 --d-ff 10240
 * --layers 24; the defaults are a reduced size a laptop CPU runs in seconds).
 *
 *   npm run bench:t5 -- [--d-model 512] [--heads 8] [--d-kv 64] [--d-ff 1024] [--layers 4]
 *     [--vocab 32128] [--tokens 256] [--dtype fp32|fp16] [--runs 5] [--device cpu]
 *     [--threads N] [--tokenizer <HF tokenizer folder>]
 *
 * `--dtype` is spelt as in the other model benchmarks; float32 and float16 are accepted too.
 *
 * Without --tokenizer, a synthetic SentencePiece model of `--vocab` pieces is used (no
 * normalisation rules, so tokenising a real spiece.model is somewhat slower).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ModelSession, tensor, type Device } from '@zeus/inference';
import {
  buildT5Graph,
  encodeSentencePieceModel,
  PIECE_TYPE,
  SeededRandom,
  T5Tokenizer,
  type SentencePiece,
  type T5EncoderConfig,
  type T5WeightDType,
  type T5WeightReader,
} from '@zeus/models';
import { scriptArgs } from './lib/script-args.ts';

const PROMPT =
  'A red fox trots through fresh snow at dawn, its breath visible in the cold air, while the ' +
  'low sun paints the pine forest gold; the camera follows at ground level in a slow tracking ' +
  'shot, shallow depth of field, soft cinematic lighting, fine detail in the fur and the snow.';

const USAGE = `npm run bench:t5 -- [options]
  --d-model N --heads N --d-kv N --d-ff N --layers N
                        the encoder's size (512, 8, 64, 1024, 4; T5-XXL: 4096 64 64 10240 24)
  --vocab N             vocabulary of the synthetic tokenizer (32128)
  --tokens N            tokens the prompt is padded to (256)
  --dtype fp32|fp16     weights (fp32)
  --runs N              timed runs (5)
  --device cpu|cuda|webgpu|auto
                        execution provider (cpu)
  --threads N           CPU threads (ONNX Runtime's default)
  --tokenizer DIR       a Hugging Face T5 tokenizer folder instead of the synthetic one`;

const { values, fail } = scriptArgs(USAGE, {
  'd-model': { type: 'string', default: '512' },
  heads: { type: 'string', default: '8' },
  'd-kv': { type: 'string', default: '64' },
  'd-ff': { type: 'string', default: '1024' },
  layers: { type: 'string', default: '4' },
  vocab: { type: 'string', default: '32128' },
  tokens: { type: 'string', default: '256' },
  dtype: { type: 'string', default: 'fp32' },
  runs: { type: 'string', default: '5' },
  device: { type: 'string', default: 'cpu' },
  threads: { type: 'string' },
  tokenizer: { type: 'string' },
});

const config: T5EncoderConfig = {
  vocabSize: Number(values.vocab),
  dModel: Number(values['d-model']),
  dKv: Number(values['d-kv']),
  numHeads: Number(values.heads),
  dFf: Number(values['d-ff']),
  numLayers: Number(values.layers),
  relativeAttentionNumBuckets: 32,
  relativeAttentionMaxDistance: 128,
  layerNormEpsilon: 1e-6,
};
const tokens = Number(values.tokens);
const runs = Number(values.runs);
const DTYPES: Readonly<Record<string, T5WeightDType>> = {
  fp32: 'float32',
  fp16: 'float16',
  float32: 'float32',
  float16: 'float16',
};
const dtype: T5WeightDType = DTYPES[values.dtype] ?? fail('--dtype is fp32 or fp16');

/** Deterministic random weights with the usual 1/√fan-in scale; norms near 1. */
function randomWeights(): T5WeightReader {
  const random = new SeededRandom(20240601);
  return {
    config,
    has: (name) => name !== 'encoder.embed_tokens.weight',
    readFloat32: (_name, shape) => {
      const size = shape.reduce((a, b) => a * b, 1);
      const fanIn = shape.at(-1) ?? 1;
      const isNorm = shape.length === 1;
      const scale = isNorm ? 0.1 : 1 / Math.sqrt(fanIn);
      const values = new Float32Array(size);
      for (let i = 0; i < size; i++) values[i] = (isNorm ? 1 : 0) + random.between(-scale, scale);
      return Promise.resolve(values);
    },
  };
}

/** A SentencePiece model of `vocab` pieces made of letter runs, T5's special pieces first. */
function syntheticTokenizer(): T5Tokenizer {
  const pieces: SentencePiece[] = [
    { piece: '<pad>', score: 0, type: PIECE_TYPE.CONTROL },
    { piece: '</s>', score: 0, type: PIECE_TYPE.CONTROL },
    { piece: '<unk>', score: 0, type: PIECE_TYPE.UNKNOWN },
  ];
  const seen = new Set<string>(pieces.map((p) => p.piece));
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  for (const c of `▁${letters}${letters.toUpperCase()}0123456789.,;:!?'-`) {
    seen.add(c);
    pieces.push({ piece: c, score: -8, type: PIECE_TYPE.NORMAL });
  }
  const target = config.vocabSize - 100;
  const random = new SeededRandom(7);
  while (pieces.length < target) {
    const draw = random.nextUint32();
    const length = 2 + (draw % 6);
    let piece = draw % 3 === 0 ? '' : '▁';
    for (let i = 0; i < length; i++) piece += letters[random.nextUint32() % 26] ?? 'a';
    if (seen.has(piece)) continue;
    seen.add(piece);
    pieces.push({ piece, score: -9 - length, type: PIECE_TYPE.NORMAL });
  }
  return T5Tokenizer.fromFiles({
    spieceModel: encodeSentencePieceModel({
      pieces,
      trainerSpec: { vocabSize: pieces.length, unkId: 2, eosId: 1, padId: 0, bosId: -1 },
    }),
  });
}

function mean(samples: readonly number[]): number {
  return samples.reduce((a, b) => a + b, 0) / samples.length;
}

async function main(): Promise<void> {
  const started = performance.now();
  const tokenizer =
    values.tokenizer === undefined
      ? syntheticTokenizer()
      : await T5Tokenizer.load(values.tokenizer);
  const tokenizerLoadMs = performance.now() - started;
  const tokenizeMs: number[] = [];
  for (let i = 0; i < 20; i++) {
    const t0 = performance.now();
    tokenizer.encode(PROMPT, { maxLength: tokens, overflow: 'truncate' });
    tokenizeMs.push(performance.now() - t0);
  }

  const dir = await mkdtemp(join(tmpdir(), 'zeus-bench-t5-'));
  try {
    const modelPath = join(dir, 't5.onnx');
    const t0 = performance.now();
    await buildT5Graph(randomWeights(), { dtype }).save(modelPath);
    const buildMs = performance.now() - t0;
    const t1 = performance.now();
    const session = await ModelSession.load(modelPath, {
      device: values.device as Device,
      name: 'T5 (bench)',
      ...(values.threads === undefined ? {} : { intraOpThreads: Number(values.threads) }),
    });
    const loadMs = performance.now() - t1;
    const ids = BigInt64Array.from({ length: tokens }, (_, i) => BigInt((i * 31 + 7) % 32000));
    const mask = new BigInt64Array(tokens).fill(1n);
    const feeds = {
      input_ids: tensor('int64', ids, [1, tokens]),
      attention_mask: tensor('int64', mask, [1, tokens]),
    };
    await session.run(feeds);
    const encodeMs: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      await session.run(feeds);
      encodeMs.push(performance.now() - t);
    }
    await session.release();

    const params =
      config.vocabSize * config.dModel +
      config.numLayers *
        (4 * config.dModel * config.numHeads * config.dKv + 3 * config.dModel * config.dFf);
    console.log(
      JSON.stringify(
        {
          config,
          tokens,
          dtype,
          provider: session.provider,
          parameters: params,
          tokenizerLoadMs: Math.round(tokenizerLoadMs),
          tokenizeMs: Number(mean(tokenizeMs.slice(5)).toFixed(3)),
          promptTokens: tokenizer.countTokens(PROMPT),
          buildAndSaveMs: Math.round(buildMs),
          sessionLoadMs: Math.round(loadMs),
          encodeMsMean: Number(mean(encodeMs).toFixed(1)),
          encodeMsMin: Number(Math.min(...encodeMs).toFixed(1)),
          peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
        },
        null,
        2,
      ),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
