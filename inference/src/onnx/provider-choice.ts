/**
 * Which execution provider runs here: a device setting resolved to a provider by loading a
 * one-node probe model on each candidate in turn, and whether a provider computes in float16.
 */
import { attr, GraphBuilder } from '@zeus/models';
import type { Device } from '../runtime-options.ts';
import {
  ModelSession,
  ONNX_RUNTIME,
  providerCandidates,
  SessionError,
  tensor,
  type ExecutionProvider,
  type ProviderEnvironment,
} from './runtime.ts';

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
