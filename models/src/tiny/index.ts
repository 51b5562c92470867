/**
 * `@zeus/models/tiny`: the parts of the tiny model's generator that write the same layout at
 * other sizes (bench/pipeline.ts writes a random model of the real size with them).
 */
export { checkpointTensorPlan, tinyCheckpointConfig, type TensorPlan } from './checkpoint.ts';
export { tinyT5Config } from './t5.ts';
export { tinySpieceModel, tinyTokenizerJsonFiles, tinyTokenizerPieces } from './tokenizer.ts';
