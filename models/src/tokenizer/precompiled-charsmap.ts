/**
 * SentencePiece's compiled normalisation rules (`NormalizerSpec.precompiled_charsmap`, e.g. the
 * "nmt_nfkc" rules of T5's `spiece.model`), applied exactly as sentencepiece's `Normalizer`
 * applies them: over the UTF-8 bytes, left to right, the longest byte sequence found in a
 * Darts double-array trie is replaced by its normalised string; bytes without a rule are copied
 * one character at a time.
 *
 * Blob layout: uint32 LE trie size in bytes | trie (uint32 LE units) | normalised strings
 * (NUL-terminated, addressed by the trie's values).
 *
 * (@huggingface/tokenizers' `Precompiled` normaliser approximates these rules with NFKC and a
 * fixed character list; prompts with characters where the two differ would get other ids
 * than the official tokenizer, hence this module.)
 */

export class CharsmapFormatError extends Error {
  override readonly name = 'CharsmapFormatError';
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8');

export class PrecompiledCharsmap {
  private constructor(
    private readonly units: Uint32Array,
    private readonly normalized: Uint8Array,
  ) {}

  static parse(blob: Uint8Array): PrecompiledCharsmap {
    if (blob.byteLength < 4) throw new CharsmapFormatError('charsmap shorter than 4 bytes');
    const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
    const trieBytes = view.getUint32(0, true);
    if (trieBytes % 4 !== 0 || 4 + trieBytes > blob.byteLength || trieBytes === 0) {
      throw new CharsmapFormatError(`charsmap trie size ${trieBytes} is out of range`);
    }
    const units = new Uint32Array(trieBytes / 4);
    for (let i = 0; i < units.length; i++) units[i] = view.getUint32(4 + i * 4, true);
    return new PrecompiledCharsmap(units, blob.subarray(4 + trieBytes));
  }

  /** Normalises `text` (no whitespace handling: that is sentencepiece's next stage). */
  normalize(text: string): string {
    const input = encoder.encode(text);
    const output: number[] = [];
    let position = 0;
    while (position < input.length) {
      const match = this.longestMatch(input, position);
      if (match === undefined) {
        // TextEncoder output is valid UTF-8, so the lead byte gives the character's length.
        const length = utf8Length(input[position] ?? 0);
        for (let i = 0; i < length; i++) output.push(input[position + i] ?? 0);
        position += length;
      } else {
        for (let i = match.value; i < this.normalized.length; i++) {
          const byte = this.normalized[i] ?? 0;
          if (byte === 0) break;
          output.push(byte);
        }
        position += match.length;
      }
    }
    return decoder.decode(Uint8Array.from(output));
  }

  /** Darts-clone `commonPrefixSearch`, keeping the longest hit. */
  private longestMatch(
    key: Uint8Array,
    start: number,
  ): { readonly value: number; readonly length: number } | undefined {
    const units = this.units;
    let best: { value: number; length: number } | undefined;
    let node = offsetOf(units[0] ?? 0);
    for (let i = start; i < key.length; i++) {
      const byte = key[i] ?? 0;
      node ^= byte;
      const unit = units[node];
      if (unit === undefined || labelOf(unit) !== byte) break;
      node ^= offsetOf(unit);
      if (hasLeaf(unit)) {
        best = { value: (units[node] ?? 0) & 0x7fffffff, length: i - start + 1 };
      }
    }
    return best;
  }
}

function hasLeaf(unit: number): boolean {
  return ((unit >>> 8) & 1) === 1;
}

function labelOf(unit: number): number {
  // Bit 31 marks leaf units, whose label can never equal a byte.
  return (unit & 0x800000ff) >>> 0;
}

function offsetOf(unit: number): number {
  return (unit >>> 10) << ((unit & (1 << 9)) >>> 6);
}

function utf8Length(lead: number): number {
  if (lead < 0x80) return 1;
  if (lead < 0xe0) return 2;
  if (lead < 0xf0) return 3;
  return 4;
}
