/**
 * The output names of a serialised ONNX model, read without ONNX Runtime: a session's preferred
 * output locations must name real outputs before the session exists. Models Zeus saves keep
 * their weights in an external data file, so the `.onnx` file itself is small.
 */
import { ModelProto } from './proto.ts';

export function modelOutputNames(model: Uint8Array): string[] {
  const message = ModelProto.toObject(ModelProto.decode(model)) as {
    readonly graph?: { readonly output?: readonly { readonly name?: string }[] };
  };
  return (message.graph?.output ?? []).map((output) => output.name ?? '');
}
