/**
 * T5 parity: the tokenizer against `tokenizer_cases.json` and the pipeline's ids and masks
 * (exact), and the encoder, converted in the run's precision from the reference's
 * `text_encoder/` and run on its device, against `t5.last_hidden_state`, its intermediates
 * `t5.debug.hidden_states_<i>` and `pipeline.negative_prompt_embeds`.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildT5Onnx, T5Tokenizer } from '@zeus/models';
import { T5TextEncoder } from '../../ltx/text-encoder.ts';
import { attentionKernelFor } from '../../onnx/attention-probe.ts';
import { maxAbsDiff } from '../compare.ts';
import type { Reference } from '../reference.ts';
import { tolerance } from '../tolerances.ts';
import { graphDtype, type ParityCheck, type ParityResult, type ParityTarget } from '../types.ts';

export const t5Check: ParityCheck = {
  component: 't5',
  async run(reference: Reference, target: ParityTarget): Promise<ParityResult[]> {
    const tokenizer = await T5Tokenizer.load(reference.tokenizerDir);
    const results: ParityResult[] = [];
    results.push(...(await tokenizerCaseResults(reference.dir, tokenizer)));
    // A reference run may be driven by token ids given directly (`run.prompt_token_ids`, as the
    // golden set is: its ids are not the tokenizer's output for `run.prompt`); then comparing
    // the prompt's tokenisation with them says nothing, and a difference is only shown.
    const idsGivenDirectly = 'prompt_token_ids' in reference.manifest.run;
    const { prompt, negative_prompt: negativePrompt } = reference.manifest.run;
    for (const [text, prefix] of [
      [prompt, 'pipeline.prompt'],
      [negativePrompt, 'pipeline.negative'],
    ] as const) {
      const idsName = `${prefix}_input_ids`;
      const maskName = `${prefix}_attention_mask`;
      const expectedIds = await reference.int64(idsName);
      // The pipeline truncates; Zeus refuses, but must tokenise identically up to the limit.
      const encoded = tokenizer.encode(text, {
        maxLength: expectedIds.length,
        overflow: 'truncate',
      });
      for (const [name, actual, expected] of [
        [idsName, encoded.inputIds, expectedIds],
        [maskName, encoded.attentionMask, await reference.int64(maskName)],
      ] as const) {
        const result = integerResult(name, actual, expected);
        results.push(
          idsGivenDirectly && result.maxAbsError > 0
            ? {
                ...result,
                tolerance: Infinity,
                note: `informative only: the reference run was given its ids directly (${result.note ?? ''})`,
              }
            : result,
        );
      }
    }

    const dir = await mkdtemp(join(tmpdir(), 'zeus-parity-t5-'));
    try {
      const modelPath = join(dir, 't5.onnx');
      await buildT5Onnx(reference.textEncoderDir, modelPath, {
        dtype: graphDtype(target.precision),
        debugOutputs: true,
        attention: (await attentionKernelFor(target.device)).kernel,
      });
      const encoder = await T5TextEncoder.fromModel(modelPath, tokenizer, {
        device: target.device,
        cachedPrompts: 0,
      });
      try {
        const outputs = await encoder.run(
          await reference.int64('t5.input_ids'),
          await reference.int64('t5.attention_mask'),
        );
        const last = outputs['last_hidden_state'] ?? new Float32Array();
        results.push(
          floatResult(
            't5.last_hidden_state',
            last,
            await reference.float32('t5.last_hidden_state'),
          ),
        );
        // transformers' hidden_states: entry i is block i's input, the last one the final output.
        for (let i = 0; reference.has(`t5.debug.hidden_states_${i}`); i++) {
          const name = `t5.debug.hidden_states_${i}`;
          results.push(
            floatResult(name, outputs[`hidden_states_${i}`] ?? last, await reference.float32(name)),
          );
        }
        const negative = await encoder.encodeIds(
          await reference.int64('pipeline.negative_input_ids'),
          await reference.int64('pipeline.negative_attention_mask'),
        );
        results.push(
          floatResult(
            'pipeline.negative_prompt_embeds',
            negative.embeddings,
            await reference.float32('pipeline.negative_prompt_embeds'),
          ),
        );
      } finally {
        await encoder.release();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    return results;

    function floatResult(name: string, actual: Float32Array, expected: Float32Array): ParityResult {
      return {
        name,
        maxAbsError: maxAbsDiff(actual, expected),
        tolerance: tolerance(reference, target, 't5.*', expected),
      };
    }
  },
};

interface TokenizerCase {
  readonly text: string;
  readonly input_ids: readonly number[];
  readonly attention_mask: readonly number[];
}

/** Every string of `tokenizer_cases.json` (transformers' T5Tokenizer output), exactly. */
async function tokenizerCaseResults(dir: string, tokenizer: T5Tokenizer): Promise<ParityResult[]> {
  let cases: readonly TokenizerCase[];
  try {
    cases = (
      JSON.parse(await readFile(join(dir, 'tokenizer_cases.json'), 'utf8')) as {
        cases: TokenizerCase[];
      }
    ).cases;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const ids: number[][] = [[], []];
  const masks: number[][] = [[], []];
  let differing = 0;
  for (const { text, input_ids, attention_mask } of cases) {
    const encoded = tokenizer.encode(text, { maxLength: input_ids.length, overflow: 'truncate' });
    const ourIds = Array.from(encoded.inputIds, Number);
    const ourMask = Array.from(encoded.attentionMask, Number);
    ids[0]?.push(...ourIds);
    ids[1]?.push(...input_ids);
    masks[0]?.push(...ourMask);
    masks[1]?.push(...attention_mask);
    if (
      ourIds.some((id, i) => id !== input_ids[i]) ||
      ourMask.some((m, i) => m !== attention_mask[i])
    ) {
      differing++;
    }
  }
  const note = `${differing} of ${cases.length} strings differ`;
  return [
    {
      name: 'tokenizer_cases.input_ids',
      maxAbsError: maxAbsDiff(ids[0] ?? [], ids[1] ?? []),
      tolerance: 0,
      note,
    },
    {
      name: 'tokenizer_cases.attention_mask',
      maxAbsError: maxAbsDiff(masks[0] ?? [], masks[1] ?? []),
      tolerance: 0,
      note,
    },
  ];
}

function integerResult(name: string, actual: BigInt64Array, expected: BigInt64Array): ParityResult {
  const differing = actual.length === expected.length ? countDiffering(actual, expected) : -1;
  return {
    name,
    maxAbsError:
      actual.length === expected.length
        ? maxAbsDiff(Array.from(actual, Number), Array.from(expected, Number))
        : Infinity,
    tolerance: 0,
    note:
      differing < 0
        ? `length ${actual.length}, expected ${expected.length}`
        : `${differing} of ${expected.length} differ`,
  };
}

function countDiffering(actual: BigInt64Array, expected: BigInt64Array): number {
  let count = 0;
  for (let i = 0; i < expected.length; i++) if (actual[i] !== expected[i]) count++;
  return count;
}
