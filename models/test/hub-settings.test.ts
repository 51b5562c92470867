import { describe, expect, it } from 'vitest';
import { DEFAULT_HUB_ENDPOINT, HubSettingsError, hubSettingsFromEnv } from '../src/hub/settings.ts';

describe('hubSettingsFromEnv', () => {
  it('defaults to huggingface.co without a token', () => {
    expect(hubSettingsFromEnv({})).toEqual({ endpoint: DEFAULT_HUB_ENDPOINT, token: undefined });
  });

  it('reports every bad variable at once', () => {
    let error: unknown;
    try {
      hubSettingsFromEnv({ HF_ENDPOINT: 'ftp://mirror', HF_TOKEN: 'secret' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(HubSettingsError);
    expect((error as HubSettingsError).problems).toHaveLength(2);
    expect((error as HubSettingsError).message).toMatch(/HF_ENDPOINT[\s\S]*HF_TOKEN/);
  });
});
