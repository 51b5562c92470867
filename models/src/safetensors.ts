/**
 * Reads and writes safetensors files (https://github.com/huggingface/safetensors): an 8-byte
 * little-endian header length, a JSON header (tensor dtypes, shapes and byte ranges, plus an
 * optional `__metadata__` map of strings), then the raw tensor bytes.
 *
 * Reading is lazy: `open` reads only the header, and each tensor is read from disk when asked
 * for, so multi-gigabyte checkpoints never sit whole in memory.
 */
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { BYTES_PER_ELEMENT, elementCount, type DType } from './tensor/dtype.ts';
import { toFloat32, type HostTensor } from './tensor/tensor.ts';

const FILE_DTYPES: Readonly<Record<string, DType>> = {
  F32: 'float32',
  F16: 'float16',
  BF16: 'bfloat16',
  F64: 'float64',
  I64: 'int64',
  I32: 'int32',
  I16: 'int16',
  I8: 'int8',
  U8: 'uint8',
  BOOL: 'bool',
};

const DTYPE_NAMES: Readonly<Record<DType, string>> = Object.fromEntries(
  Object.entries(FILE_DTYPES).map(([name, dtype]) => [dtype, name]),
) as Record<DType, string>;

/** Headers above this size are refused: real ones are a few hundred kilobytes. */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

export interface SafetensorsEntry {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  /** Byte offset of the tensor's data from the start of the file. */
  readonly offset: number;
  readonly byteLength: number;
}

export class SafetensorsFormatError extends Error {
  override readonly name = 'SafetensorsFormatError';
  constructor(path: string, problem: string) {
    super(`${path} is not a valid safetensors file: ${problem}`);
  }
}

export class SafetensorsFile {
  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
    readonly metadata: Readonly<Record<string, string>>,
    readonly entries: ReadonlyMap<string, SafetensorsEntry>,
    readonly fileSize: number,
  ) {}

  static async open(path: string): Promise<SafetensorsFile> {
    const handle = await open(path, 'r');
    try {
      const { size } = await handle.stat();
      if (size < 8) throw new SafetensorsFormatError(path, 'shorter than 8 bytes');
      const lengthBytes = Buffer.alloc(8);
      await handle.read(lengthBytes, 0, 8, 0);
      const headerLength = Number(lengthBytes.readBigUInt64LE(0));
      if (headerLength > MAX_HEADER_BYTES || 8 + headerLength > size) {
        throw new SafetensorsFormatError(path, `header length ${headerLength} is out of range`);
      }
      const headerBytes = Buffer.alloc(headerLength);
      await handle.read(headerBytes, 0, headerLength, 8);
      let header: unknown;
      try {
        header = JSON.parse(headerBytes.toString('utf8'));
      } catch {
        throw new SafetensorsFormatError(path, 'the header is not JSON');
      }
      const { metadata, entries } = parseHeader(path, header, 8 + headerLength, size);
      return new SafetensorsFile(path, handle, metadata, entries, size);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  get names(): string[] {
    return [...this.entries.keys()];
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  entry(name: string): SafetensorsEntry {
    const entry = this.entries.get(name);
    if (entry === undefined) {
      throw new Error(`${this.path} has no tensor named "${name}"`);
    }
    return entry;
  }

  /** Reads one tensor's bytes from disk. */
  async read(name: string): Promise<HostTensor> {
    const entry = this.entry(name);
    const bytes = new Uint8Array(entry.byteLength);
    let done = 0;
    while (done < entry.byteLength) {
      const { bytesRead } = await this.handle.read(
        bytes,
        done,
        entry.byteLength - done,
        entry.offset + done,
      );
      if (bytesRead === 0) throw new SafetensorsFormatError(this.path, 'unexpected end of file');
      done += bytesRead;
    }
    return { dtype: entry.dtype, shape: entry.shape, bytes };
  }

  /** Reads one floating-point tensor and widens it to float32. */
  async readFloat32(name: string): Promise<Float32Array> {
    return toFloat32(await this.read(name));
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

function parseHeader(
  path: string,
  header: unknown,
  dataStart: number,
  fileSize: number,
): { metadata: Record<string, string>; entries: Map<string, SafetensorsEntry> } {
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw new SafetensorsFormatError(path, 'the header is not a JSON object');
  }
  const metadata: Record<string, string> = {};
  const entries = new Map<string, SafetensorsEntry>();
  for (const [name, value] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof value !== 'object' || value === null) {
        throw new SafetensorsFormatError(path, '__metadata__ is not an object');
      }
      for (const [key, text] of Object.entries(value as Record<string, unknown>)) {
        if (typeof text !== 'string') {
          throw new SafetensorsFormatError(path, `__metadata__.${key} is not a string`);
        }
        metadata[key] = text;
      }
      continue;
    }
    const info = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const dtype = typeof info.dtype === 'string' ? FILE_DTYPES[info.dtype] : undefined;
    if (dtype === undefined) {
      throw new SafetensorsFormatError(path, `tensor "${name}" has dtype ${String(info.dtype)}`);
    }
    const shape = info.shape;
    const offsets = info.data_offsets;
    if (
      !Array.isArray(shape) ||
      !shape.every((dim) => Number.isInteger(dim) && (dim as number) >= 0) ||
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every((offset) => Number.isInteger(offset) && (offset as number) >= 0)
    ) {
      throw new SafetensorsFormatError(path, `tensor "${name}" has a malformed shape or offsets`);
    }
    const [begin, end] = offsets as [number, number];
    const byteLength = elementCount(shape as number[]) * BYTES_PER_ELEMENT[dtype];
    if (end - begin !== byteLength || dataStart + end > fileSize) {
      throw new SafetensorsFormatError(path, `tensor "${name}" has inconsistent byte offsets`);
    }
    entries.set(name, {
      name,
      dtype,
      shape: shape as number[],
      offset: dataStart + begin,
      byteLength,
    });
  }
  return { metadata, entries };
}

/**
 * Writes tensors (in the given order) and string metadata as a safetensors file, atomically:
 * the data goes to a temporary file that is renamed over `path` when complete.
 */
export async function writeSafetensors(
  path: string,
  tensors: Iterable<readonly [string, HostTensor]>,
  metadata: Readonly<Record<string, string>> = {},
): Promise<void> {
  const list = [...tensors];
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header['__metadata__'] = metadata;
  let offset = 0;
  for (const [name, tensor] of list) {
    const byteLength = elementCount(tensor.shape) * BYTES_PER_ELEMENT[tensor.dtype];
    if (tensor.bytes.byteLength !== byteLength) {
      throw new Error(
        `Tensor "${name}" has ${tensor.bytes.byteLength} bytes, ${byteLength} needed`,
      );
    }
    header[name] = {
      dtype: DTYPE_NAMES[tensor.dtype],
      shape: tensor.shape,
      data_offsets: [offset, offset + byteLength],
    };
    offset += byteLength;
  }
  let headerText = JSON.stringify(header);
  // Pad with spaces so the data starts 8-byte aligned, as the reference writer does.
  headerText += ' '.repeat((8 - ((Buffer.byteLength(headerText) + 8) % 8)) % 8);
  const headerBytes = Buffer.from(headerText, 'utf8');
  const lengthBytes = Buffer.alloc(8);
  lengthBytes.writeBigUInt64LE(BigInt(headerBytes.byteLength));

  const temporary = `${path}.tmp-${process.pid}-${Date.now()}`;
  const handle = await open(temporary, 'w');
  try {
    await handle.write(lengthBytes);
    await handle.write(headerBytes);
    for (const [, tensor] of list) await handle.write(tensor.bytes);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await rm(temporary, { force: true });
    throw error;
  }
  await handle.close();
  await rename(temporary, path);
}
