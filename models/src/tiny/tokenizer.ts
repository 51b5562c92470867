/**
 * A tiny T5 tokenizer folder like PixArt's `tokenizer/`: a SentencePiece Unigram `spiece.model`
 * (written with the tokenizer module's protobuf schema) plus `tokenizer_config.json`,
 * `special_tokens_map.json` and `added_tokens.json`, and no `tokenizer.json`.
 *
 * The vocabulary covers ordinary English prompts: common words as whole pieces, every
 * printable ASCII character (so any ASCII text tokenizes without `<unk>`), a few suffixes and
 * accented letters. Ids follow T5: pad 0, eos 1, unk 2, and 100 `<extra_id_N>` after the
 * pieces. Like the real model it normalises with "nmt_nfkc" through a precompiled charsmap, here
 * with a handful of true NFKC rules (full-width forms, ligatures, odd spaces, combining accents)
 * so the charsmap path runs too.
 */
import {
  encodeSentencePieceModel,
  MODEL_TYPE,
  PIECE_TYPE,
  type SentencePiece,
} from '../tokenizer/sentencepiece-model.ts';

export const EXTRA_IDS = 100;

const WORDS = `
the a an and or of to in on at by for with from into over under through across near behind
above below between around along toward towards up down out off away back while as is are was
were be been being it its this that these those there here his her their our your my one two
three four five six seven eight nine ten many few some all each every other another more most
very slowly quickly gently softly suddenly then
man woman person people child children boy girl baby friend family crowd dancer runner
cat dog bird horse fish fox wolf bear lion tiger deer rabbit owl eagle butterfly dragon robot
car bus train boat ship plane bicycle truck road street bridge city town village house room
kitchen window door wall floor table chair bed lamp book cup glass bottle plate phone screen
tree trees forest flower flowers grass leaf leaves garden field farm mountain mountains hill
valley river lake sea ocean beach wave waves sand rock rocks stone desert island cave waterfall
sky cloud clouds sun moon star stars rain snow storm wind fog mist smoke fire light shadow
shadows night day morning evening sunset sunrise dawn dusk winter summer spring autumn
water ice air earth space planet world
red orange yellow green blue purple pink white black gray grey brown gold golden silver dark
bright pale colorful colourful warm cold soft hard wet dry
big small large tiny tall short long wide narrow old young new ancient modern beautiful
pretty ugly happy sad calm quiet loud busy empty full open closed clean dirty smooth rough
walks walking walk runs running run jumps jumping jump flies flying fly swims swimming swim
dances dancing dance sits sitting sit stands standing stand looks looking look turns turning
moves moving move falls falling fall rises rising rise flows flowing flow shines shining
glows glowing glow spins spinning holds holding plays playing sings singing smiles smiling
laughs laughing talks talking eats eating drinks drinking reads reading writes writing
opens opening drives driving rides riding floats floating drifts drifting sways swaying
camera shot close closeup wide angle view scene frame video film movie cinematic
shallow depth focus blur motion slow pan zoom tracking aerial drone handheld static lens
lighting light lit shot realistic detailed high quality style painting photo photograph
face eyes hair hand hands head body arm arms leg legs dress shirt coat hat shoes jacket
wearing holding behind front side left right center middle top bottom background foreground
`;

const SUFFIXES = ['s', 'es', 'ed', 'ing', 'ly', 'er', 'est', 'y', 'al', 'tion', 'ness', "'s"];

/** Letters that NFKC composes from the combining forms below, also pieces of their own. */
const ACCENTED = ['é', 'è', 'à', 'á', 'ü', 'ö', 'ñ', 'ç', '’', '“', '”', '—', '–', '°', '×'];

/** NFKC (and nmt whitespace) rules of the charsmap: source → normalised. */
function normalizationRules(): [string, string][] {
  const rules: [string, string][] = [
    ['\t', ' '],
    ['\n', ' '],
    ['\r', ' '],
    ['\u00a0', ' '],
    ['\u3000', ' '],
    ['\u2026', '...'],
    ['\ufb00', 'ff'],
    ['\ufb01', 'fi'],
    ['\ufb02', 'fl'],
    ['\u2122', 'TM'],
    ['\u00b9', '1'],
    ['\u00b2', '2'],
    ['\u00b3', '3'],
    ['\u00bd', '1\u20442'],
    ['e\u0301', 'é'],
    ['e\u0300', 'è'],
    ['a\u0300', 'à'],
    ['a\u0301', 'á'],
    ['u\u0308', 'ü'],
    ['o\u0308', 'ö'],
    ['n\u0303', 'ñ'],
    ['c\u0327', 'ç'],
  ];
  for (let code = 0x2002; code <= 0x200a; code++) rules.push([String.fromCharCode(code), ' ']);
  // Full-width ASCII forms.
  for (let code = 0xff01; code <= 0xff5e; code++) {
    rules.push([String.fromCharCode(code), String.fromCharCode(code - 0xff01 + 0x21)]);
  }
  return rules;
}

/** The model's pieces, ids in order: specials, then words, suffixes and characters. */
export function tinyTokenizerPieces(): SentencePiece[] {
  const pieces: SentencePiece[] = [
    { piece: '<pad>', score: 0, type: PIECE_TYPE.CONTROL },
    { piece: '</s>', score: 0, type: PIECE_TYPE.CONTROL },
    { piece: '<unk>', score: 0, type: PIECE_TYPE.UNKNOWN },
    { piece: '\u2581', score: -2, type: PIECE_TYPE.NORMAL },
  ];
  const seen = new Set(pieces.map(({ piece }) => piece));
  const add = (piece: string, score: number) => {
    if (seen.has(piece)) return;
    seen.add(piece);
    pieces.push({ piece, score, type: PIECE_TYPE.NORMAL });
  };
  const words = WORDS.split(/\s+/).filter((word) => word !== '');
  const capitalised = ['The', 'A', 'An', 'In', 'On', 'At', 'This', 'Two', 'Close', 'Aerial'];
  // Whole words score well above their spelling (each character costs about −8).
  words.forEach((word, rank) => {
    add(`\u2581${word}`, -4 - rank * 0.005);
  });
  capitalised.forEach((word, rank) => {
    add(`\u2581${word}`, -5 - rank * 0.01);
  });
  SUFFIXES.forEach((suffix, rank) => {
    add(suffix, -6 - rank * 0.01);
  });
  for (let code = 0x21; code <= 0x7e; code++)
    add(String.fromCharCode(code), -8 - (code - 0x21) * 0.01);
  ACCENTED.forEach((letter, rank) => {
    add(letter, -10 - rank * 0.01);
  });
  return pieces;
}

/** spiece.model bytes. */
export function tinySpieceModel(): Uint8Array {
  const pieces = tinyTokenizerPieces();
  return encodeSentencePieceModel({
    pieces,
    trainerSpec: {
      modelType: MODEL_TYPE.UNIGRAM,
      vocabSize: pieces.length,
      byteFallback: false,
      unkId: 2,
      bosId: -1,
      eosId: 1,
      padId: 0,
      unkPiece: '<unk>',
      eosPiece: '</s>',
      padPiece: '<pad>',
    },
    normalizerSpec: {
      name: 'nmt_nfkc',
      precompiledCharsmap: buildPrecompiledCharsmap(normalizationRules()),
      addDummyPrefix: true,
      removeExtraWhitespaces: true,
      escapeWhitespaces: true,
    },
  });
}

/** Embedding rows of the matching encoder: pieces and extra ids, rounded up to 128 as T5's. */
export function tinyVocabSize(pieceCount: number): number {
  return Math.ceil((pieceCount + EXTRA_IDS) / 128) * 128;
}

/** The JSON companion files, as the real folder has them. */
export function tinyTokenizerJsonFiles(pieceCount: number): Record<string, unknown> {
  const extraTokens = Array.from({ length: EXTRA_IDS }, (_, index) => `<extra_id_${index}>`);
  const specialTokens = {
    eos_token: '</s>',
    pad_token: '<pad>',
    unk_token: '<unk>',
    additional_special_tokens: extraTokens,
  };
  return {
    'tokenizer_config.json': {
      model_max_length: 512,
      extra_ids: EXTRA_IDS,
      ...specialTokens,
      tokenizer_class: 'T5Tokenizer',
      sp_model_kwargs: {},
    },
    'special_tokens_map.json': specialTokens,
    // <extra_id_0> is the last id, as T5Tokenizer numbers them.
    'added_tokens.json': Object.fromEntries(
      extraTokens.map((token, index) => [token, pieceCount + EXTRA_IDS - 1 - index]),
    ),
  };
}

/**
 * A sentencepiece `precompiled_charsmap`: uint32 LE trie size | Darts-clone double-array trie
 * over the UTF-8 source strings | NUL-terminated normalised strings (addressed by trie values).
 */
export function buildPrecompiledCharsmap(
  rules: readonly (readonly [string, string])[],
): Uint8Array {
  const encoder = new TextEncoder();
  interface TrieNode {
    readonly children: Map<number, TrieNode>;
    value: number | undefined;
  }
  const root: TrieNode = { children: new Map(), value: undefined };
  const strings: number[] = [];
  for (const [source, target] of rules) {
    let node = root;
    for (const byte of encoder.encode(source)) {
      let child = node.children.get(byte);
      if (child === undefined) {
        child = { children: new Map(), value: undefined };
        node.children.set(byte, child);
      }
      node = child;
    }
    node.value = strings.length;
    strings.push(...encoder.encode(target), 0);
  }

  const units: number[] = [0];
  const used: boolean[] = [true];
  const usedBases = new Set<number>();
  const isFree = (position: number) => used[position] !== true;
  // Breadth-first: each node gets a base where all its children (and its value) fit.
  const queue: { node: TrieNode; position: number }[] = [{ node: root, position: 0 }];
  for (let item = queue.shift(); item !== undefined; item = queue.shift()) {
    const { node, position } = item;
    const labels = [...node.children.keys()].sort((a, b) => a - b);
    let base = 1;
    while (
      usedBases.has(base) ||
      (node.value !== undefined && !isFree(base)) ||
      labels.some((label) => !isFree(base ^ label)) ||
      (position ^ base) >= 1 << 21
    ) {
      base++;
    }
    usedBases.add(base);
    const hasLeaf = node.value === undefined ? 0 : 1 << 8;
    units[position] = ((units[position] ?? 0) | hasLeaf | ((position ^ base) << 10)) >>> 0;
    if (node.value !== undefined) {
      units[base] = (node.value | 0x80000000) >>> 0;
      used[base] = true;
    }
    for (const label of labels) {
      const child = node.children.get(label);
      if (child === undefined) continue;
      units[base ^ label] = label;
      used[base ^ label] = true;
      queue.push({ node: child, position: base ^ label });
    }
  }

  const trieBytes = units.length * 4;
  const blob = new Uint8Array(4 + trieBytes + strings.length);
  const view = new DataView(blob.buffer);
  view.setUint32(0, trieBytes, true);
  for (let i = 0; i < units.length; i++) view.setUint32(4 + i * 4, units[i] ?? 0, true);
  blob.set(strings, 4 + trieBytes);
  return blob;
}
