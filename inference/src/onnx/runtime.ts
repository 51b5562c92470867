/**
 * The one module that imports onnxruntime-node: execution providers, sessions, input checks and
 * release. Everything else in Zeus goes through `ModelSession` and `tensor()`; choosing a
 * provider by probing it is provider-choice.ts, and checking its fused attention,
 * attention-probe.ts.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { halfToFloat, modelOutputNames } from '@zeus/models';
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
