/**
 * The one module that imports onnxruntime-node: execution-provider choice, sessions, input
 * checks and release. Everything else in Zeus goes through `ModelSession` and `tensor()`.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import {
  attention,
  attr,
  GraphBuilder,
  halfToFloat,
  modelOutputNames,
  type AttentionKernel,
} from '@zeus/models';
import * as ort from 'onnxruntime-node';
import type { Device } from '../runtime-options.ts';

export { DEVICES, type Device } from '../runtime-options.ts';

export type ExecutionProvider = 'cuda' | 'webgpu' | 'cpu';
export type OrtTensor = ort.Tensor;
export type TensorDType = 'float32' | 'float16' | 'int64' | 'int32' | 'uint8' | 'bool';

/** Preference order when the device is `auto`. */
const AUTO_ORDER: readonly ExecutionProvider[] = ['cuda', 'webgpu', 'cpu'];

export class SessionError extends Error {
  override readonly name = 'SessionError';
}

/**
 * True when the CUDA provider's library sits next to the binding. The npm package ships
 * without it (its install script downloads it), so on most machines CUDA is simply absent.
 */
export function cudaProviderInstalled(): boolean {
  const require = createRequire(import.meta.url);
  const binding = require.resolve('onnxruntime-node');
  const binDir = join(dirname(binding), '..', 'bin', 'napi-v6', process.platform, process.arch);
  return existsSync(join(binDir, 'libonnxruntime_providers_cuda.so'));
}

/** The providers to try, in order, for a device setting. */
export function providerCandidates(
  device: Device,
  hasCuda: () => boolean = cudaProviderInstalled,
): ExecutionProvider[] {
  if (device !== 'auto') return [device];
  return AUTO_ORDER.filter((provider) => provider !== 'cuda' || hasCuda());
}

/** A provider `auto` preferred but passed over, and ONNX Runtime's (or our) reason. */
export interface RefusedProvider {
  readonly provider: ExecutionProvider;
  readonly reason: string;
}

/**
 * The provider a device setting ends up on: the setting itself unless it is `auto`, else the
 * first provider that accepts a one-node probe model, with the reason each provider before it
 * was refused (a CUDA provider whose library is not installed is one). Decided once at start so
 * that choices that depend on it (precision, where the text encoder lives) are made before the
 * big models load.
 */
export async function chooseProvider(
  device: Device,
  environment: ProviderEnvironment = ONNX_RUNTIME,
): Promise<{ readonly provider: ExecutionProvider; readonly refused: readonly RefusedProvider[] }> {
  if (device !== 'auto') return { provider: device, refused: [] };
  const refused: RefusedProvider[] = [];
  if (!environment.hasCuda()) {
    refused.push({
      provider: 'cuda',
      reason:
        'its library (libonnxruntime_providers_cuda.so) is not installed next to ' +
        "onnxruntime-node's binding (the npm package ships without it; see docs/getting-started.md, running the stack)",
    });
  }
  const g = new GraphBuilder({ name: 'provider_probe' });
  g.output(g.op('Identity', [g.input('x', 'float32', [1])]), 'y', 'float32', [1]);
  const model = await g.toBytes();
  for (const provider of providerCandidates('auto', environment.hasCuda)) {
    try {
      const probe = await ModelSession.load(
        model,
        { device: provider, name: 'provider probe', logSeverity: 4 },
        environment,
      );
      await probe.release();
      return { provider, refused };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      refused.push({ provider, reason: message.replace(/^Could not load .*?: \w+: /, '') });
    }
  }
  throw new SessionError(
    `No execution provider loads a model: ${refused.map((r) => `${r.provider}: ${r.reason}`).join('; ')}`,
  );
}

/** chooseProvider's provider alone. */
export async function resolveProvider(device: Device): Promise<ExecutionProvider> {
  return (await chooseProvider(device)).provider;
}

export type ProbeResult = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/**
 * Whether `provider` loads and runs a small model on this machine, and with `float16` one that
 * computes in float16 too (WebGPU adapters without the shader-f16 feature, SwiftShader's among
 * them, load float16 models but fail at their first float16 kernel). The reason is ONNX
 * Runtime's first line when it cannot.
 */
export async function probeProvider(
  provider: ExecutionProvider,
  options: { readonly float16?: boolean } = {},
): Promise<ProbeResult> {
  const g = new GraphBuilder({ name: 'provider_probe' });
  const x = g.input('x', 'float32', [2]);
  const y =
    options.float16 === true
      ? g.op(
          'Cast',
          [g.op('Mul', [g.op('Cast', [x], { to: attr.i(10) }), g.scalar(2, 'float16')])],
          {
            to: attr.i(1),
          },
        )
      : g.op('Mul', [x, g.scalar(2)]);
  g.output(y, 'y', 'float32', [2]);
  let session: ModelSession | undefined;
  try {
    session = await ModelSession.load(await g.toBytes(), {
      device: provider,
      name: 'probe',
      // Its failure is an answer, not an error to print.
      logSeverity: 4,
    });
    const out = await session.run({ x: tensor('float32', Float32Array.of(1, -3), [2]) });
    const values = out['y']?.data;
    if (!(values instanceof Float32Array) || values[0] !== 2 || values[1] !== -6) {
      return { ok: false, reason: `the probe model computed [${String(values)}], not [2, -6]` };
    }
    return { ok: true };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { ok: false, reason: message.replace(/^The probe model failed: /, '') };
  } finally {
    await session?.release();
  }
}

/** Largest error of the fused attention probe a provider may show and still be used. */
export const FUSED_ATTENTION_TOLERANCE = 1e-4;

const attentionErrors = new Map<ExecutionProvider, Promise<number>>();

/**
 * The largest error of ONNX Runtime's fused MultiHeadAttention on `provider` against a float64
 * computation, on a case it got wrong on SwiftShader's WebGPU (32 keys, heads of 8, a bias):
 * above FUSED_ATTENTION_TOLERANCE the pipeline builds attention from MatMul and Softmax instead
 * (@zeus/models' onnx/attention.ts). Measured once per provider and process.
 */
export function fusedAttentionError(provider: ExecutionProvider): Promise<number> {
  let error = attentionErrors.get(provider);
  if (error === undefined) {
    error = measureFusedAttention(provider);
    attentionErrors.set(provider, error);
  }
  return error;
}

async function measureFusedAttention(provider: ExecutionProvider): Promise<number> {
  const [length, heads, size] = [32, 2, 8];
  const width = heads * size;
  const values = (count: number, seed: number): Float32Array =>
    Float32Array.from({ length: count }, (_, i) => Math.sin(seed * 12.9898 + i * 78.233) * 2);
  const q = values(length * width, 1);
  const k = values(length * width, 2);
  const v = values(length * width, 3);
  const bias = values(heads * length * length, 4);
  const g = new GraphBuilder({ name: 'attention_probe' });
  const io = (name: string): string => g.input(name, 'float32', [1, length, width]);
  const attended = attention(g, io('q'), io('k'), io('v'), {
    heads,
    headSize: size,
    bias: g.input('bias', 'float32', [1, heads, length, length]),
    dtype: 'float32',
    kernel: 'fused',
  });
  g.output(attended, 'y', 'float32', [1, length, width]);
  const session = await ModelSession.load(await g.toBytes(), {
    device: provider,
    name: 'attention probe',
  });
  try {
    const out = await session.run({
      q: tensor('float32', q, [1, length, width]),
      k: tensor('float32', k, [1, length, width]),
      v: tensor('float32', v, [1, length, width]),
      bias: tensor('float32', bias, [1, heads, length, length]),
    });
    const actual = tensorFloat32(out['y'] as OrtTensor);
    let largest = 0;
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < length; i++) {
        const scores = Array.from({ length }, (_, j) => {
          let dot = 0;
          for (let d = 0; d < size; d++) {
            dot += (q[i * width + h * size + d] ?? 0) * (k[j * width + h * size + d] ?? 0);
          }
          return dot / Math.sqrt(size) + (bias[(h * length + i) * length + j] ?? 0);
        });
        const top = Math.max(...scores);
        const weights = scores.map((score) => Math.exp(score - top));
        const sum = weights.reduce((a, b) => a + b, 0);
        for (let d = 0; d < size; d++) {
          let expected = 0;
          for (let j = 0; j < length; j++) {
            expected += ((weights[j] ?? 0) / sum) * (v[j * width + h * size + d] ?? 0);
          }
          const diff = Math.abs((actual[i * width + h * size + d] ?? NaN) - expected);
          largest = Number.isNaN(diff) ? Infinity : Math.max(largest, diff);
        }
      }
    }
    return largest;
  } finally {
    await session.release();
  }
}

/**
 * How attention is written in the graphs for `provider`: ONNX Runtime's fused kernel unless it
 * fails the probe there, with the reason when it does.
 */
export async function attentionKernelFor(
  provider: ExecutionProvider,
): Promise<{ readonly kernel: AttentionKernel; readonly reason?: string }> {
  if (provider === 'cpu') return { kernel: 'fused' };
  const error = await fusedAttentionError(provider);
  if (error <= FUSED_ATTENTION_TOLERANCE) return { kernel: 'fused' };
  return {
    kernel: 'matmul',
    reason:
      `ONNX Runtime's fused MultiHeadAttention is off by ${error.toExponential(1)} on this ` +
      `${provider} device (a probe of 32 keys, heads of 8); attention is built from MatMul ` +
      'and Softmax instead (slower, exact)',
  };
}

export interface SessionOptions {
  readonly device: Device;
  /** For messages and logs, e.g. "transformer". */
  readonly name: string;
  /** Threads for the CPU provider (default: ONNX Runtime's choice). */
  readonly intraOpThreads?: number;
  /** ONNX Runtime log severity: 0 verbose … 4 fatal (default 3, errors only). */
  readonly logSeverity?: 0 | 1 | 2 | 3 | 4;
  /**
   * Outputs to leave in the device's memory where the provider's Node binding can (`webgpu`:
   * tensors of location `gpu-buffer`), e.g. state that the next run takes back as an input.
   * Their holder passes them to other runs only, never reads them (getData() on a gpu-buffer
   * tensor aborts the process), and frees them with `disposeOnDevice`. On other providers they
   * come to the host like every output.
   */
  readonly deviceOutputs?: (name: string) => boolean;
}

/** Providers whose Node binding returns outputs in device memory (`gpu-buffer`). */
const DEVICE_TENSOR_PROVIDERS: ReadonlySet<ExecutionProvider> = new Set(['webgpu']);

/**
 * Bytes that crossed the Node binding, counted at `ModelSession.run`: host tensors fed in and
 * outputs returned to the host (tensors kept on the device count nothing). Per thread.
 */
export interface HostTraffic {
  readonly toRuntimeBytes: number;
  readonly fromRuntimeBytes: number;
  readonly runs: number;
  /** Time spent inside ONNX Runtime's run (the thread is blocked there), in ms. */
  readonly runMs: number;
}

const traffic = { toRuntimeBytes: 0, fromRuntimeBytes: 0, runs: 0, runMs: 0 };

/** The bytes counted so far in this thread (subtract two readings to measure a stretch). */
export function hostTraffic(): HostTraffic {
  return { ...traffic };
}

function hostBytes(value: OrtTensor): number {
  if (value.location !== 'cpu') return 0;
  const data = value.data;
  return ArrayBuffer.isView(data) ? data.byteLength : 0;
}

/** Frees the device memory of the tensors that live there; host tensors are left to the GC. */
export function disposeOnDevice(tensors: Iterable<OrtTensor>): void {
  for (const value of tensors) {
    if (value.location !== 'cpu') value.dispose();
  }
}

/**
 * What `ModelSession.load` asks of the machine: whether the CUDA library is installed, and
 * ONNX Runtime's session creation. Tests pass their own to check the fallback order on any
 * machine; everything else uses the real ones.
 */
export interface ProviderEnvironment {
  readonly hasCuda: () => boolean;
  readonly createSession: (
    model: string | Uint8Array,
    options: ort.InferenceSession.SessionOptions,
  ) => Promise<ort.InferenceSession>;
}

export const ONNX_RUNTIME: ProviderEnvironment = {
  hasCuda: cudaProviderInstalled,
  createSession: (model, options) =>
    typeof model === 'string'
      ? ort.InferenceSession.create(model, options)
      : ort.InferenceSession.create(model, options),
};

export class ModelSession {
  private released = false;

  private constructor(
    readonly name: string,
    readonly provider: ExecutionProvider,
    private readonly session: ort.InferenceSession,
    /** The outputs that stay in device memory (see SessionOptions.deviceOutputs). */
    readonly outputsOnDevice: ReadonlySet<string>,
  ) {}

  /**
   * Loads a model from a file path (external data is found next to it) or bytes, on the first
   * provider of the device setting that accepts it.
   */
  static async load(
    model: string | Uint8Array,
    options: SessionOptions,
    environment: ProviderEnvironment = ONNX_RUNTIME,
  ): Promise<ModelSession> {
    const failures: string[] = [];
    for (const provider of providerCandidates(options.device, environment.hasCuda)) {
      const onDevice =
        options.deviceOutputs !== undefined && DEVICE_TENSOR_PROVIDERS.has(provider)
          ? (await outputNamesOf(model)).filter(options.deviceOutputs)
          : [];
      const sessionOptions: ort.InferenceSession.SessionOptions = {
        executionProviders: [provider],
        ...(onDevice.length === 0
          ? {}
          : {
              preferredOutputLocation: Object.fromEntries(
                onDevice.map((name) => [name, 'gpu-buffer' as const]),
              ),
            }),
        graphOptimizationLevel: 'all',
        logSeverityLevel: options.logSeverity ?? 3,
        ...(options.intraOpThreads === undefined
          ? {}
          : { intraOpNumThreads: options.intraOpThreads }),
      };
      try {
        const session = await environment.createSession(model, sessionOptions);
        return new ModelSession(options.name, provider, session, new Set(onDevice));
      } catch (error) {
        failures.push(`${provider}: ${firstLine(error)}`);
      }
    }
    throw new SessionError(
      `Could not load the ${options.name} model on device "${options.device}": ${failures.join('; ')}`,
    );
  }

  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }

  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  /** Runs the model; every declared input must be given, and nothing else. */
  async run(feeds: Readonly<Record<string, OrtTensor>>): Promise<Record<string, OrtTensor>> {
    if (this.released) throw new SessionError(`The ${this.name} session was released`);
    const missing = this.session.inputNames.filter((input) => !(input in feeds));
    const unknown = Object.keys(feeds).filter((input) => !this.session.inputNames.includes(input));
    if (missing.length > 0 || unknown.length > 0) {
      throw new SessionError(
        `Inputs of ${this.name} do not match the model: ` +
          [
            missing.length > 0 ? `missing ${missing.join(', ')}` : '',
            unknown.length > 0 ? `unknown ${unknown.join(', ')}` : '',
          ]
            .filter(Boolean)
            .join('; '),
      );
    }
    let outputs: Record<string, OrtTensor>;
    const started = performance.now();
    try {
      outputs = await this.session.run(feeds);
    } catch (error) {
      throw new SessionError(`The ${this.name} model failed: ${firstLine(error)}`, {
        cause: error,
      });
    }
    traffic.runs += 1;
    traffic.runMs += performance.now() - started;
    for (const value of Object.values(feeds)) traffic.toRuntimeBytes += hostBytes(value);
    for (const value of Object.values(outputs)) traffic.fromRuntimeBytes += hostBytes(value);
    return outputs;
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await this.session.release();
  }
}

type TensorData = {
  float32: Float32Array;
  float16: Uint16Array;
  int64: BigInt64Array;
  int32: Int32Array;
  uint8: Uint8Array;
  bool: Uint8Array;
};

/** Wraps host data as an ONNX Runtime tensor (float16 data is raw 16-bit patterns). */
export function tensor<D extends TensorDType>(
  dtype: D,
  data: TensorData[D],
  dims: readonly number[],
): OrtTensor {
  return new ort.Tensor(dtype, data, dims);
}

/** A tensor's data as float32 (copying from float16 when needed). */
export function tensorFloat32(value: OrtTensor): Float32Array {
  if (value.type === 'float32') return value.data as Float32Array;
  if (value.type === 'float16') {
    const bits = value.data as Uint16Array;
    const out = new Float32Array(bits.length);
    for (let i = 0; i < bits.length; i++) out[i] = halfToFloat(bits[i] ?? 0);
    return out;
  }
  throw new SessionError(`Expected a float tensor, got ${value.type}`);
}

async function outputNamesOf(model: string | Uint8Array): Promise<string[]> {
  return modelOutputNames(typeof model === 'string' ? await readFile(model) : model);
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0] ?? message;
}
