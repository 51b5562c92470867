import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Job } from './job.ts';
import { applyJobEvent, newJob } from './job-state.ts';
import {
  checkWebhookUrl,
  signWebhook,
  verifyWebhook,
  webhookAddressProblem,
  webhookEventFor,
  webhookSecretFor,
} from './webhooks.ts';

const t0 = new Date('2026-01-01T00:00:00.000Z');
const settings = {
  prompt: 'p',
  negativePrompt: '',
  width: 64,
  height: 64,
  numFrames: 9,
  frameRate: 8,
  seed: 1,
};

function job(events: 'FINAL' | 'STAGES' | null): Job {
  return newJob({
    id: '00000000-0000-4000-8000-000000000001',
    settings,
    model: 'tiny-random',
    totalSteps: 8,
    now: t0,
    owner: 'alice',
    webhook: events === null ? null : { url: 'https://example.com/hook', events },
  });
}

describe('webhook signatures', () => {
  it('is v1= and the hex HMAC-SHA256 of "timestamp.body", as a receiver computes it', () => {
    const body = '{"id":"x"}';
    const expected = createHmac('sha256', 's3cret').update(`1767225600.${body}`).digest('hex');
    expect(signWebhook('s3cret', 1_767_225_600, body)).toBe(`v1=${expected}`);
  });

  it('verifies a good signature and refuses a changed body, another secret or an old timestamp', () => {
    const body = '{"type":"job.succeeded"}';
    const signature = signWebhook('s3cret', 1_000, body);
    const base = { secret: 's3cret', body, timestamp: '1000', signature, nowSeconds: 1_010 };
    expect(verifyWebhook(base)).toBe(true);
    expect(verifyWebhook({ ...base, body: `${body} ` })).toBe(false);
    expect(verifyWebhook({ ...base, secret: 'other' })).toBe(false);
    expect(verifyWebhook({ ...base, timestamp: '1001' })).toBe(false);
    expect(verifyWebhook({ ...base, nowSeconds: 1_000 + 301 })).toBe(false);
    expect(verifyWebhook({ ...base, timestamp: '1e3' })).toBe(false);
    expect(verifyWebhook({ ...base, signature: 'v1=00' })).toBe(false);
  });

  it("signs a key's jobs with its own secret, derived from the operator's; keyless with it", () => {
    const alice = webhookSecretFor('s3cret', 'alice');
    expect(alice).toBe(createHmac('sha256', 's3cret').update('zeus-webhook:alice').digest('hex'));
    expect(webhookSecretFor('s3cret', 'bob')).not.toBe(alice);
    expect(webhookSecretFor('other', 'alice')).not.toBe(alice);
    expect(webhookSecretFor('s3cret', null)).toBe('s3cret');
  });
});

describe('webhook events', () => {
  it('makes one event for the final state, none for progress, with FINAL', () => {
    const queued = job('FINAL');
    const running = applyJobEvent(queued, { type: 'start', workerId: 'w', totalSteps: 8 }, t0);
    expect(webhookEventFor(queued, running)).toBeNull();
    const step = applyJobEvent(
      running,
      { type: 'progress', attempt: 1, stage: 'DENOISING', step: 1 },
      t0,
    );
    expect(webhookEventFor(running, step)).toBeNull();
    const done = applyJobEvent(step, { type: 'succeed', attempt: 1, videoUrl: '/v' }, t0);
    const event = webhookEventFor(step, done);
    expect(event).toMatchObject({
      id: `${done.id}.${done.version}`,
      type: 'job.succeeded',
      createdAt: done.updatedAt,
      job: { id: done.id, status: 'SUCCEEDED', videoUrl: '/v', priority: 0, batchId: null },
    });
    // Nothing internal goes out.
    expect(Object.keys(event?.job ?? {})).not.toContain('owner');
    expect(Object.keys(event?.job ?? {})).not.toContain('workerId');
    expect(Object.keys(event?.job ?? {})).not.toContain('webhook');
    const cancelled = applyJobEvent(queued, { type: 'cancel' }, t0);
    expect(webhookEventFor(queued, cancelled)?.type).toBe('job.cancelled');
    const failed = applyJobEvent(queued, { type: 'fail', code: 'INVALID_JOB', message: 'm' }, t0);
    expect(webhookEventFor(queued, failed)?.type).toBe('job.failed');
  });

  it('adds each stage change with STAGES, and a retried attempt, but not each step', () => {
    const queued = job('STAGES');
    const running = applyJobEvent(queued, { type: 'start', workerId: 'w', totalSteps: 8 }, t0);
    expect(webhookEventFor(queued, running)?.type).toBe('job.stage');
    const denoising = applyJobEvent(
      running,
      { type: 'progress', attempt: 1, stage: 'DENOISING', step: 0 },
      t0,
    );
    expect(webhookEventFor(running, denoising)).toMatchObject({
      type: 'job.stage',
      job: { stage: 'DENOISING' },
    });
    const step = applyJobEvent(
      denoising,
      { type: 'progress', attempt: 1, stage: 'DENOISING', step: 1 },
      t0,
    );
    expect(webhookEventFor(denoising, step)).toBeNull();
    const retried = applyJobEvent(step, { type: 'start', workerId: 'w2', totalSteps: 8 }, t0);
    expect(webhookEventFor(step, retried)?.type).toBe('job.stage');
  });

  it('makes none for a job without a webhook', () => {
    const queued = job(null);
    expect(webhookEventFor(queued, applyJobEvent(queued, { type: 'cancel' }, t0))).toBeNull();
  });
});

describe('webhook addresses (SSRF)', () => {
  it('lets public unicast addresses through and refuses the rest', () => {
    for (const address of ['93.184.216.34', '8.8.8.8', '2606:4700:4700::1111']) {
      expect(webhookAddressProblem(address, false), address).toBeNull();
    }
    const refused: Record<string, string> = {
      '127.0.0.1': 'loopback',
      '10.1.2.3': 'private',
      '172.16.0.1': 'private',
      '192.168.1.1': 'private',
      '169.254.169.254': 'linkLocal',
      '100.64.0.1': 'carrierGradeNat',
      '0.0.0.0': 'unspecified',
      '224.0.0.1': 'multicast',
      '::1': 'loopback',
      'fd00::1': 'uniqueLocal',
      'fe80::1': 'linkLocal',
      '::ffff:127.0.0.1': 'loopback',
      '::ffff:10.0.0.1': 'private',
    };
    for (const [address, range] of Object.entries(refused)) {
      expect(webhookAddressProblem(address, false), address).toContain(range);
      expect(webhookAddressProblem(address, true), address).toBeNull();
    }
    expect(webhookAddressProblem('example.com', true)).toMatch(/not an IP address/);
  });

  it('accepts http and https URLs to public hosts, normalised', () => {
    expect(checkWebhookUrl('https://hooks.example.com/zeus?x=1', { allowPrivate: false })).toEqual({
      url: 'https://hooks.example.com/zeus?x=1',
    });
    expect(checkWebhookUrl('HTTP://8.8.8.8:8080', { allowPrivate: false })).toEqual({
      url: 'http://8.8.8.8:8080/',
    });
  });

  it('refuses other schemes, credentials, loopback and private hosts, with the rule', () => {
    const rule = (text: string, allowPrivate = false): string | null => {
      const result = checkWebhookUrl(text, { allowPrivate });
      return 'problem' in result ? result.problem.rule : null;
    };
    expect(rule('ftp://example.com/')).toBe('url');
    expect(rule('file:///etc/passwd')).toBe('url');
    expect(rule('javascript:alert(1)')).toBe('url');
    expect(rule('not a url')).toBe('url');
    expect(rule('https://user:pw@example.com/')).toBe('url');
    expect(rule(`https://example.com/${'x'.repeat(2_100)}`)).toBe('maxLength');
    for (const host of [
      'http://127.0.0.1:9/',
      'http://localhost/',
      'http://api.localhost/',
      'http://[::1]/',
      'http://10.0.0.8/',
      'http://169.254.169.254/latest/meta-data',
      // Other spellings of 127.0.0.1, as the URL parser reads them.
      'http://2130706433/',
      'http://0x7f.1/',
      'http://[::ffff:7f00:1]/',
    ]) {
      expect(rule(host), host).toBe('publicAddress');
      expect(rule(host, true), host).toBeNull();
    }
  });
});
