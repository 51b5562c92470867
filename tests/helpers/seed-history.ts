/**
 * A long history, made fast: `count` finished jobs written into a stack's Redis as the job store
 * and a worker would have left them (each record built by core's own state machine: submitted,
 * started, succeeded; in the history sorted set by submission order, in the prompt index, in its
 * owner's history), each with a real MP4 and poster in generated/<id>/ (hard links to one pair
 * made by ffmpeg, so ten thousand jobs cost ten thousand folders, not gigabytes). For the tests
 * and the benchmark of a history of thousands; making 10,000 real videos would take hours.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { copyFile, link, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  applyJobEvent,
  closeRedis,
  connectRedis,
  newJob,
  RedisKeys,
  searchText,
  type Job,
} from '@zeus/core';

const run = promisify(execFile);

const SUBJECTS = ['a red fox', 'a lighthouse', 'an old tram', 'a heron', 'a paper boat', 'a kite'];
const PLACES = ['in fresh snow', 'in fog', 'in Lisbon', 'in a misty marsh', 'on a rainy street'];

/** The prompt of the `index`-th job seeded: varied, so searches find some and not others. */
export function seededPrompt(index: number): string {
  const subject = SUBJECTS[index % SUBJECTS.length] ?? '';
  const place = PLACES[Math.floor(index / SUBJECTS.length) % PLACES.length] ?? '';
  return `${subject} ${place}, take ${index}`;
}

export interface SeedOptions {
  readonly redisUrl: string;
  readonly generatedDir: string;
  readonly count: number;
  readonly prefix?: string;
  /** The API key's name that owns them (`ZEUS_API_KEYS`); none: no keys. */
  readonly owner?: string | null;
}

/** Writes the jobs, oldest first; returns their ids, newest first (as the history lists them). */
export async function seedHistory(options: SeedOptions): Promise<string[]> {
  const keys = new RedisKeys(options.prefix ?? 'zeus');
  const owner = options.owner ?? null;
  const files = await mkdtemp(join(tmpdir(), 'zeus-seed-'));
  const redis = connectRedis(options.redisUrl, { name: 'seed-history', role: 'requests' });
  try {
    const video = join(files, 'out.mp4');
    const poster = join(files, 'poster.jpg');
    // 2 s of ffmpeg's test pattern at the default size, and its first frame as the poster.
    await run('ffmpeg', [
      '-v',
      'error',
      '-f',
      'lavfi',
      '-i',
      'testsrc2=size=768x512:rate=25',
      '-frames:v',
      '49',
      '-c:v',
      'libx264',
      '-pix_fmt',
      'yuv420p',
      '-movflags',
      '+faststart',
      video,
    ]);
    await run('ffmpeg', [
      '-v',
      'error',
      '-i',
      video,
      '-frames:v',
      '1',
      '-vf',
      'scale=640:-2',
      '-q:v',
      '4',
      poster,
    ]);
    const first = (await redis.incrby(keys.submissionCounter, options.count)) - options.count + 1;
    const ids: string[] = [];
    const started = Date.now() - options.count * 60_000;
    for (let batch = 0; batch < options.count; batch += 1_000) {
      const transaction = redis.pipeline();
      const made: string[] = [];
      for (let index = batch; index < Math.min(options.count, batch + 1_000); index += 1) {
        const id = randomUUID();
        const at = (minutes: number) => new Date(started + (index + minutes) * 60_000);
        let job: Job = {
          ...newJob({
            id,
            settings: {
              prompt: seededPrompt(index),
              negativePrompt: '',
              width: 768,
              height: 512,
              numFrames: 49,
              frameRate: 25,
              seed: index,
            },
            model: 'tiny-random',
            totalSteps: 8,
            now: at(0),
          }),
          owner,
        };
        job = applyJobEvent(job, { type: 'start', workerId: 'seeded', totalSteps: 8 }, at(0.1));
        job = applyJobEvent(
          job,
          {
            type: 'succeed',
            attempt: 1,
            videoUrl: `/generated/${id}/out.mp4`,
            posterUrl: `/generated/${id}/poster.jpg`,
          },
          at(0.5),
        );
        const order = first + index;
        transaction.set(keys.job(id), JSON.stringify(job));
        transaction.zadd(keys.history, order, id);
        if (owner !== null) transaction.zadd(keys.ownerHistory(owner), order, id);
        transaction.hset(keys.promptIndex, id, searchText(job.settings.prompt));
        made.push(id);
      }
      await transaction.exec();
      for (const id of made) {
        const folder = join(options.generatedDir, id);
        await mkdir(folder, { recursive: true });
        await linkOrCopy(video, join(folder, 'out.mp4'));
        await linkOrCopy(poster, join(folder, 'poster.jpg'));
      }
      ids.push(...made);
    }
    return ids.reverse();
  } finally {
    await closeRedis(redis);
    await rm(files, { recursive: true, force: true });
  }
}

/** A hard link, or a copy where the two folders are on different file systems. */
async function linkOrCopy(from: string, to: string): Promise<void> {
  try {
    await link(from, to);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
    await copyFile(from, to);
  }
}
