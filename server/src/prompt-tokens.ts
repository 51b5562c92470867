/**
 * Prompt token counting for `submitPrompt`, with the model's own T5 tokenizer from the models
 * directory the workers fill (`ZEUS_MODELS_DIR`, shared by servers and workers). Until a worker
 * has put the tokenizer there (a first start still downloading), there is no counter and
 * prompts are bounded by characters (`maxPromptChars`); the worker refuses an over-long prompt
 * itself either way. A missing tokenizer is looked for again at most every `retryMs`.
 */
import type { Logger, TokenCounter } from '@zeus/core';
import { T5Tokenizer } from '@zeus/models';

export interface PromptTokensOptions {
  /** The model's `tokenizer/` folder. */
  readonly tokenizerDir: string;
  readonly logger: Logger;
  /** Least time between two looks for a missing tokenizer. Default 10 s. */
  readonly retryMs?: number;
}

export class PromptTokens {
  private tokenizer: T5Tokenizer | undefined;
  private loading: Promise<void> | undefined;
  private lastTry = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: PromptTokensOptions) {}

  /** The counter (tokens with the end-of-text token), or undefined while there is no tokenizer. */
  async counter(): Promise<TokenCounter | undefined> {
    if (this.tokenizer === undefined && this.loading === undefined) {
      const now = performance.now();
      if (now - this.lastTry >= (this.options.retryMs ?? 10_000)) {
        this.lastTry = now;
        this.loading = this.load().finally(() => {
          this.loading = undefined;
        });
      }
    }
    await this.loading;
    const tokenizer = this.tokenizer;
    return tokenizer === undefined ? undefined : (text) => tokenizer.countTokens(text);
  }

  private async load(): Promise<void> {
    const { tokenizerDir, logger } = this.options;
    try {
      // Files are renamed into place once complete, so a present spiece.model is a whole one.
      this.tokenizer = await T5Tokenizer.load(tokenizerDir);
      logger.info({ tokenizerDir }, 'prompt tokens are counted with the model tokenizer');
    } catch (error) {
      logger.debug(
        { tokenizerDir, err: (error as Error).message },
        'no model tokenizer yet: prompts are bounded by characters',
      );
    }
  }
}
