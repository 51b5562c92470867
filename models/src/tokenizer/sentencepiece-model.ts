/**
 * Reads and writes SentencePiece model files (`spiece.model`): a protobuf `ModelProto` from
 * sentencepiece's `sentencepiece_model.proto`. Only the fields a tokenizer needs are declared
 * here, with the upstream field numbers and proto2 defaults, so files written by the official
 * trainer parse and files written with `SentencePieceModelProto` load in the official library.
 *
 *   const model = parseSentencePieceModel(await readFile('spiece.model'));
 *   const bytes = encodeSentencePieceModel({ pieces, trainerSpec, normalizerSpec });
 */
import protobuf from 'protobufjs';

/** `SentencePiece.Type` upstream. */
export const PIECE_TYPE = {
  NORMAL: 1,
  UNKNOWN: 2,
  CONTROL: 3,
  USER_DEFINED: 4,
  UNUSED: 5,
  BYTE: 6,
} as const;
export type PieceType = (typeof PIECE_TYPE)[keyof typeof PIECE_TYPE];

/** `TrainerSpec.ModelType` upstream. */
export const MODEL_TYPE = { UNIGRAM: 1, BPE: 2, WORD: 3, CHAR: 4 } as const;
export type ModelType = (typeof MODEL_TYPE)[keyof typeof MODEL_TYPE];

const descriptor = {
  nested: {
    sentencepiece: {
      nested: {
        ModelProto: {
          fields: {
            pieces: { rule: 'repeated', type: 'SentencePiece', id: 1 },
            trainerSpec: { type: 'TrainerSpec', id: 2 },
            normalizerSpec: { type: 'NormalizerSpec', id: 3 },
            denormalizerSpec: { type: 'NormalizerSpec', id: 5 },
          },
        },
        SentencePiece: {
          fields: {
            piece: { type: 'string', id: 1 },
            score: { type: 'float', id: 2 },
            type: { type: 'int32', id: 3, options: { default: PIECE_TYPE.NORMAL } },
          },
        },
        TrainerSpec: {
          fields: {
            modelType: { type: 'int32', id: 3, options: { default: MODEL_TYPE.UNIGRAM } },
            vocabSize: { type: 'int32', id: 4, options: { default: 8000 } },
            byteFallback: { type: 'bool', id: 35, options: { default: false } },
            unkId: { type: 'int32', id: 40, options: { default: 0 } },
            bosId: { type: 'int32', id: 41, options: { default: 1 } },
            eosId: { type: 'int32', id: 42, options: { default: 2 } },
            padId: { type: 'int32', id: 43, options: { default: -1 } },
            unkPiece: { type: 'string', id: 45, options: { default: '<unk>' } },
            bosPiece: { type: 'string', id: 46, options: { default: '<s>' } },
            eosPiece: { type: 'string', id: 47, options: { default: '</s>' } },
            padPiece: { type: 'string', id: 48, options: { default: '<pad>' } },
          },
        },
        NormalizerSpec: {
          fields: {
            name: { type: 'string', id: 1 },
            precompiledCharsmap: { type: 'bytes', id: 2 },
            addDummyPrefix: { type: 'bool', id: 3, options: { default: true } },
            removeExtraWhitespaces: { type: 'bool', id: 4, options: { default: true } },
            escapeWhitespaces: { type: 'bool', id: 5, options: { default: true } },
            normalizationRuleTsv: { type: 'string', id: 6 },
          },
        },
      },
    },
  },
};

/**
 * The protobufjs type of `sentencepiece.ModelProto` (the subset above). Use `fromObject` +
 * `encode(...).finish()` to write a model; fields left out are not written.
 */
export const SentencePieceModelProto = protobuf.Root.fromJSON(descriptor).lookupType(
  'sentencepiece.ModelProto',
);

export interface SentencePiece {
  readonly piece: string;
  readonly score: number;
  readonly type: PieceType;
}

export interface TrainerSpec {
  readonly modelType: ModelType;
  readonly vocabSize: number;
  readonly byteFallback: boolean;
  readonly unkId: number;
  readonly bosId: number;
  readonly eosId: number;
  readonly padId: number;
  readonly unkPiece: string;
  readonly bosPiece: string;
  readonly eosPiece: string;
  readonly padPiece: string;
}

export interface NormalizerSpec {
  /** e.g. "nmt_nfkc" (informative; the charsmap is what normalises). */
  readonly name: string;
  /** Compiled normalisation rules (see precompiled-charsmap.ts); empty for none. */
  readonly precompiledCharsmap: Uint8Array;
  readonly addDummyPrefix: boolean;
  readonly removeExtraWhitespaces: boolean;
  readonly escapeWhitespaces: boolean;
}

export interface SentencePieceModel {
  readonly pieces: readonly SentencePiece[];
  readonly trainerSpec: TrainerSpec;
  readonly normalizerSpec: NormalizerSpec;
}

/** Input to `encodeSentencePieceModel`: everything but the pieces may be partly given. */
export interface SentencePieceModelInit {
  readonly pieces: readonly SentencePiece[];
  readonly trainerSpec?: Partial<TrainerSpec>;
  readonly normalizerSpec?: Partial<NormalizerSpec>;
}

export class SentencePieceModelError extends Error {
  override readonly name = 'SentencePieceModelError';
}

const PIECE_TYPES = new Set<number>(Object.values(PIECE_TYPE));
const MODEL_TYPES = new Set<number>(Object.values(MODEL_TYPE));

/** Parses the bytes of a `.model` file. */
export function parseSentencePieceModel(
  bytes: Uint8Array,
  source = 'spiece.model',
): SentencePieceModel {
  let message: protobuf.Message;
  try {
    message = SentencePieceModelProto.decode(bytes);
  } catch (error) {
    throw new SentencePieceModelError(
      `${source} is not a SentencePiece model: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  const object = SentencePieceModelProto.toObject(message, {
    defaults: true,
    bytes: Uint8Array,
  }) as {
    pieces: { piece: string; score: number; type: number }[];
    trainerSpec?: TrainerSpec;
    normalizerSpec?: NormalizerSpec;
  };
  if (object.pieces.length === 0) throw new SentencePieceModelError(`${source} has no pieces`);
  const pieces = object.pieces.map((piece, index): SentencePiece => {
    if (!PIECE_TYPES.has(piece.type)) {
      throw new SentencePieceModelError(`${source}: piece ${index} has unknown type ${piece.type}`);
    }
    return { piece: piece.piece, score: piece.score, type: piece.type as PieceType };
  });
  const trainerSpec = { ...defaultsOf('TrainerSpec'), ...object.trainerSpec } as TrainerSpec;
  if (!MODEL_TYPES.has(trainerSpec.modelType)) {
    throw new SentencePieceModelError(`${source}: unknown model type ${trainerSpec.modelType}`);
  }
  const normalizerSpec = {
    ...defaultsOf('NormalizerSpec'),
    ...object.normalizerSpec,
  } as NormalizerSpec;
  return { pieces, trainerSpec, normalizerSpec };
}

/** Serialises a model to the bytes of a `.model` file. */
export function encodeSentencePieceModel(model: SentencePieceModelInit): Uint8Array {
  const message = SentencePieceModelProto.fromObject({
    pieces: model.pieces.map(({ piece, score, type }) => ({ piece, score, type })),
    trainerSpec: model.trainerSpec ?? {},
    normalizerSpec: model.normalizerSpec ?? {},
  });
  return SentencePieceModelProto.encode(message).finish();
}

/** A sub-message's proto2 defaults (absent sub-messages decode to nothing at all). */
function defaultsOf(typeName: 'TrainerSpec' | 'NormalizerSpec'): Record<string, unknown> {
  const type = SentencePieceModelProto.lookupType(`sentencepiece.${typeName}`);
  return type.toObject(type.create(), { defaults: true, bytes: Uint8Array });
}
