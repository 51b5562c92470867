/**
 * LTX-Video 0.9.6-distilled text-to-video, as the official pipeline computes it
 * (docs/model/pipeline.md §2–§8), from a single-file checkpoint and a T5 folder:
 *
 *   1. prompt → T5 tokens (256, EOS included; longer prompts are refused, never cut)
 *   2. tokens → T5 embeddings (a repeated prompt reuses its embeddings)
 *   3. initial noise → 8 stochastic rectified-flow steps of the transformer; with a first-frame
 *      image (image-to-video), the image encoded by the VAE encoder conditions the first latent
 *      frame as the official pipeline does (sampler/conditioning.ts); after each step, a live
 *      preview of the model's estimate when asked for (preview.ts)
 *   4. latents + decode noise → VAE decoder (decode timestep 0.05, noise scale 0.025), streamed
 *      in temporal chunks, 8-bit frames made inside the graph
 *   5. centre-crop to the requested size, first `numFrames` frames → the frame sink, as each
 *      chunk is decoded (so the MP4 encoder works while the rest decodes)
 *
 * Every size comes from the files (layers, widths, channels, the VAE's scale factors, the
 * scheduler), so the same code runs the real model and the tiny ones. Random draws come from
 * `SeededNoise(seed)` unless the caller injects a source (`ReplayNoise` for parity runs), and
 * `trace` exposes the intermediate tensors a parity check compares.
 *
 * ONNX Runtime runs synchronously on the calling thread: the worker hosts this class in a
 * worker thread (pipeline/thread/), never on its event loop.
 *
 * Loading is model-loading.ts; a generation, generation.ts; the options, hooks and trace,
 * pipeline-types.ts.
 */
import type { GenerationSettings } from '@zeus/core';
import { SamplerHelper } from '../pipeline/thread/sampler-helper.ts';
import type { VideoPipeline } from '../pipeline/types.ts';
import { generateVideo } from './generation.ts';
import { loadModels, type LoadedModels } from './model-loading.ts';
import type { LtxGenerationHooks, LtxPipelineInfo, LtxPipelineOptions } from './pipeline-types.ts';

/** num_inference_steps of configs/ltxv-2b-0.9.6-distilled.yaml. */
export const LTX_DISTILLED_STEPS = 8;
/** Video frames per VAE decoder call: small enough to start encoding early and bound memory. */
export const DEFAULT_DECODE_CHUNK_FRAMES = 8;

export { PRECISIONS, type Precision } from '../runtime-options.ts';

export class LtxPipeline implements VideoPipeline {
  readonly name: string;
  readonly totalSteps: number;
  private loaded: LoadedModels | undefined;
  /** Draws and previews off this thread while the transformer runs (started by `load`). */
  private helper: SamplerHelper | undefined;

  constructor(private readonly options: LtxPipelineOptions) {
    this.name = options.name;
    this.totalSteps = options.steps ?? LTX_DISTILLED_STEPS;
  }

  /** What `load` chose; undefined before. */
  get info(): LtxPipelineInfo | undefined {
    return this.loaded?.info;
  }

  /** Converts the models (once, into the cache) and loads them. */
  async load(): Promise<void> {
    if (this.loaded !== undefined) return;
    this.loaded = await loadModels(this.options, this.totalSteps, this.chunkFrames());
    // Started now so that its start-up (a thread, tsx in development) is not a job's.
    this.helper ??= new SamplerHelper();
  }

  /** Tokens a prompt takes, EOS included (throws before `load`). */
  countTokens(prompt: string): number {
    return this.require().textEncoder.countTokens(prompt);
  }

  generate(settings: GenerationSettings, hooks: LtxGenerationHooks): Promise<void> {
    return this.run(settings, hooks);
  }

  async dispose(): Promise<void> {
    const loaded = this.loaded;
    this.loaded = undefined;
    const helper = this.helper;
    this.helper = undefined;
    await helper?.close();
    if (loaded === undefined) return;
    await Promise.all([
      loaded.textEncoder.release(),
      loaded.transformer.release(),
      loaded.decoder.release(),
      loaded.encoder.release(),
    ]);
  }

  private require(): LoadedModels {
    if (this.loaded === undefined) throw new Error('The pipeline is not loaded.');
    return this.loaded;
  }

  private chunkFrames(): number | undefined {
    const chunk = this.options.decodeChunkFrames;
    return chunk === null ? undefined : (chunk ?? DEFAULT_DECODE_CHUNK_FRAMES);
  }

  private async run(settings: GenerationSettings, hooks: LtxGenerationHooks): Promise<void> {
    const loaded = this.require();
    this.helper ??= new SamplerHelper();
    await generateVideo(
      {
        loaded,
        helper: this.helper,
        options: this.options,
        totalSteps: this.totalSteps,
        chunkFrames: this.chunkFrames(),
      },
      settings,
      hooks,
    );
  }
}
