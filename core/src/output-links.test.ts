import { describe, expect, it } from 'vitest';
import { videoUrlFor } from './job.ts';
import { checkOutputLink, LINK_LIFETIME_MS, outputOfUri, signOutputLink } from './output-links.ts';

const secret = Buffer.alloc(32, 7);
const otherSecret = Buffer.alloc(32, 8);
const jobId = '00000000-0000-4000-8000-000000000001';
const now = Date.parse('2026-12-08T03:20:00.000Z');
const HOUR = 60 * 60 * 1000;

describe('output links', () => {
  it('holds for the output it was made for, until it expires', () => {
    const link = signOutputLink(secret, videoUrlFor(jobId), now);
    expect(link).toMatch(/^\/generated\/[0-9a-f-]+\/out\.mp4\?exp=\d+&sig=[\w-]{43}$/);
    expect(checkOutputLink(secret, link, now)).toEqual({ ok: true, jobId, name: 'out.mp4' });
    expect(checkOutputLink(secret, link, now + LINK_LIFETIME_MS - 1).ok).toBe(true);
    expect(checkOutputLink(secret, link, now + LINK_LIFETIME_MS + HOUR)).toEqual({
      ok: false,
      reason: 'expired',
    });
  });

  it('stays the same within an hour, so browsers can cache what it fetched', () => {
    const path = videoUrlFor(jobId);
    const hourStart = Math.floor(now / HOUR) * HOUR;
    expect(signOutputLink(secret, path, hourStart + 1)).toBe(
      signOutputLink(secret, path, hourStart + HOUR - 1),
    );
    expect(signOutputLink(secret, path, hourStart + HOUR + 1)).not.toBe(
      signOutputLink(secret, path, hourStart + 1),
    );
  });

  it('refuses another output, another secret, an edited expiry or no signature', () => {
    const link = signOutputLink(secret, videoUrlFor(jobId), now);
    const otherJob = link.replace(jobId, '00000000-0000-4000-8000-000000000002');
    expect(checkOutputLink(secret, otherJob, now)).toEqual({ ok: false, reason: 'bad-signature' });
    expect(checkOutputLink(secret, link.replace('out.mp4', 'poster.jpg'), now)).toEqual({
      ok: false,
      reason: 'bad-signature',
    });
    expect(checkOutputLink(otherSecret, link, now)).toEqual({
      ok: false,
      reason: 'bad-signature',
    });
    const later = link.replace(/exp=(\d+)/, (_all, exp: string) => `exp=${Number(exp) + 3600}`);
    expect(checkOutputLink(secret, later, now)).toEqual({ ok: false, reason: 'bad-signature' });
    expect(checkOutputLink(secret, videoUrlFor(jobId), now)).toEqual({
      ok: false,
      reason: 'unsigned',
    });
    expect(checkOutputLink(secret, `${videoUrlFor(jobId)}?exp=abc&sig=x`, now)).toEqual({
      ok: false,
      reason: 'unsigned',
    });
  });

  it('names no output for other paths', () => {
    for (const uri of ['/generated/../etc/passwd', '/graphql', 'http://x/generated/a/b', '']) {
      expect(checkOutputLink(secret, uri, now)).toEqual({ ok: false, reason: 'not-an-output' });
      expect(outputOfUri(uri)).toBeNull();
    }
    expect(outputOfUri(`/generated/${jobId}/poster.jpg?exp=1`)).toEqual({
      jobId,
      name: 'poster.jpg',
    });
  });
});
