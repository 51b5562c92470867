/** Model rules and jobs as the API returns them, for the web app's tests. */
import type { Job, ModelRules } from '../src/api/operations.ts';

export const RULES: ModelRules = {
  model: 'tiny-random',
  defaults: {
    negativePrompt: 'worst quality, blurry',
    width: 768,
    height: 512,
    numFrames: 121,
    frameRate: 25,
  },
  sizeMultiple: 32,
  width: { min: 64, max: 1280 },
  height: { min: 64, max: 1280 },
  frameStep: 8,
  numFrames: { min: 9, max: 257 },
  frameRate: { min: 1, max: 60 },
  seed: { min: 0, max: 2_147_483_647 },
  maxPromptTokens: 256,
  maxPromptChars: 1024,
  maxLatentTokens: 16_384,
  steps: 8,
  // A model that uses a negative prompt: the form shows the field (see DISTILLED_RULES).
  ignoredSettings: [],
  sizePresets: [
    { aspect: '16:9', width: 864, height: 480 },
    { aspect: '3:2', width: 768, height: 512 },
    { aspect: '1:1', width: 640, height: 640 },
    { aspect: '9:16', width: 480, height: 864 },
  ],
};

/** LTX-Video 0.9.6-distilled's: no guidance, so the negative prompt is ignored. */
export const DISTILLED_RULES: ModelRules = { ...RULES, ignoredSettings: ['negativePrompt'] };

export function job(overrides: Partial<Job> & Pick<Job, 'id'>): Job {
  return {
    __typename: 'Job',
    status: 'QUEUED',
    stage: 'QUEUED',
    progress: 0,
    step: 0,
    totalSteps: 8,
    queuePosition: 1,
    videoUrl: null,
    previewUrl: null,
    posterUrl: null,
    error: null,
    settings: {
      prompt: `prompt of ${overrides.id}`,
      negativePrompt: '',
      width: 256,
      height: 256,
      numFrames: 17,
      frameRate: 25,
      seed: 7,
      preview: true,
      image: null,
    },
    attempts: 0,
    createdAt: '2026-11-27T14:30:00.000Z',
    startedAt: null,
    finishedAt: null,
    updatedAt: '2026-11-27T14:30:00.000Z',
    priority: 0,
    estimatedStartAt: null,
    estimatedFinishAt: null,
    expiresAt: null,
    retryOf: null,
    batchId: null,
    ...overrides,
  };
}

/** A WebSocket whose connection is refused, as one to where nothing listens, without a socket. */
export class RefusedSocket {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;
  readyState = RefusedSocket.CONNECTING;
  onopen: (() => void) | null = null;
  onmessage: ((event: unknown) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  onclose: ((event: { code: number; reason: string; wasClean: boolean }) => void) | null = null;
  constructor(
    readonly url: string,
    readonly protocol?: string | string[],
  ) {
    setTimeout(() => {
      this.readyState = RefusedSocket.CLOSED;
      this.onerror?.({ type: 'error' });
      this.onclose?.({ code: 1006, reason: '', wasClean: false });
    }, 0);
  }
  send(): void {
    throw new Error('not connected');
  }
  close(): void {
    this.readyState = RefusedSocket.CLOSED;
  }
}
