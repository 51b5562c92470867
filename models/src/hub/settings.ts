/**
 * Where model files are downloaded from, read once from the environment with the variables the
 * Hugging Face tools use: `HF_ENDPOINT` (a mirror or a local test server) and `HF_TOKEN` (for
 * gated or private repositories).
 */

export const DEFAULT_HUB_ENDPOINT = 'https://huggingface.co';

export interface HubSettings {
  /** Base URL of the Hub, without a trailing slash. */
  readonly endpoint: string;
  /** Access token sent as `Authorization: Bearer …`; undefined for anonymous access. */
  readonly token: string | undefined;
}

export class HubSettingsError extends Error {
  override readonly name = 'HubSettingsError';
  constructor(readonly problems: readonly string[]) {
    super(`Invalid Hub settings:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
  }
}

/** Reads `HF_ENDPOINT` and `HF_TOKEN`, reporting every problem at once. */
export function hubSettingsFromEnv(
  env: Readonly<Record<string, string | undefined>> = process.env,
): HubSettings {
  const problems: string[] = [];
  const rawEndpoint = env['HF_ENDPOINT']?.trim() ?? '';
  let endpoint = DEFAULT_HUB_ENDPOINT;
  if (rawEndpoint !== '') {
    let url: URL | undefined;
    try {
      url = new URL(rawEndpoint);
    } catch {
      url = undefined;
    }
    if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
      problems.push(
        `HF_ENDPOINT: must be an http:// or https:// URL (got ${JSON.stringify(rawEndpoint)})`,
      );
    } else {
      endpoint = rawEndpoint.replace(/\/+$/, '');
    }
  }
  const rawToken = env['HF_TOKEN']?.trim() ?? '';
  // @huggingface/hub refuses tokens of any other form, so say so before the first request.
  if (rawToken !== '' && !rawToken.startsWith('hf_')) {
    problems.push(
      'HF_TOKEN: must be a Hugging Face access token starting with "hf_" (got a value that does not)',
    );
  }
  if (problems.length > 0) throw new HubSettingsError(problems);
  return { endpoint, token: rawToken === '' ? undefined : rawToken };
}
