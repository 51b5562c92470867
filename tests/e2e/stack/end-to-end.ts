/**
 * Zeus end to end through Caddy, on the stack of tests/e2e/stack.test.ts (harness.ts): a job
 * followed from QUEUED to its MP4, and what users, operators and the other parts see of it.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { closeRedis, connectRedis } from '@zeus/core';
import { expect, it } from 'vitest';
import { fetchVia } from '../../../deploy/endpoints.ts';
import { holdWorker } from '../../helpers/hold-worker.ts';
import { appendOnlyFileWritten } from '../../helpers/redis.ts';
import {
  graphqlRequest,
  SUBMIT,
  watchJob,
  webSocketClient,
  type JobResult,
} from '../../helpers/graphql.ts';
import { eventually } from '../../helpers/eventually.ts';
import { probeVideo, topLevelBoxes } from '../../helpers/video.ts';
import { stack, dir, sockets, client, submit, counts, type LogLine, SMALL } from './harness.ts';

/** The tests of `describe('Zeus end to end through Caddy')`. */
export function endToEndThroughCaddy(): void {
  it('streams a job from QUEUED through every step to SUCCEEDED, and serves its MP4', async () => {
    // Ours is queued behind another job, the worker held until both are followed: it is seen
    // waiting in the queue, moving up, then running.
    const release = await holdWorker(stack);
    let ahead: JobResult;
    let job: JobResult;
    let watched: ReturnType<typeof watchJob>;
    let aheadWatched: ReturnType<typeof watchJob>;
    try {
      ahead = await submit({ prompt: 'a long shot of a harbour at dawn', ...SMALL });
      job = await submit({ prompt: 'a red fox running through snow', seed: 42, ...SMALL });
      expect(job).toMatchObject({ status: 'QUEUED', stage: 'QUEUED', progress: 0, attempts: 0 });
      expect(job.settings).toMatchObject({ ...SMALL, seed: 42 });
      watched = watchJob(client(), job.id);
      aheadWatched = watchJob(client(), ahead.id);
      await Promise.all([watched.subscribed, aheadWatched.subscribed]);
    } finally {
      release();
    }
    const updates = await watched.completed;

    const first = updates[0];
    expect(first?.status).toBe('QUEUED');
    expect(first?.queuePosition).toBeGreaterThanOrEqual(1);
    const last = updates.at(-1);
    expect(last).toMatchObject({
      status: 'SUCCEEDED',
      stage: 'DONE',
      progress: 1,
      step: 8,
      totalSteps: 8,
      attempts: 1,
      videoUrl: `/generated/${job.id}/out.mp4`,
      error: null,
      queuePosition: null,
    });
    expect(last?.finishedAt).not.toBeNull();

    const statuses = updates.map((update) => update.status);
    expect(statuses.indexOf('RUNNING')).toBeGreaterThan(statuses.lastIndexOf('QUEUED'));
    expect(statuses.filter((status) => status === 'SUCCEEDED')).toHaveLength(1);
    const running = updates.filter((update) => update.status === 'RUNNING');
    const steps = running.map((update) => update.step);
    expect(steps).toEqual([...steps].sort((a, b) => a - b));
    const denoisingSteps = running
      .filter((update) => update.stage === 'DENOISING')
      .map((update) => update.step);
    // A live preview that lands after its step's update is a change of its own, at that step.
    expect([...new Set(denoisingSteps)]).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    const progress = updates.map((update) => update.progress);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    const queuedPositions = updates
      .filter((update) => update.status === 'QUEUED')
      .map((update) => update.queuePosition ?? 0);
    expect(queuedPositions).toEqual([...queuedPositions].sort((a, b) => b - a));

    expect((await aheadWatched.completed).at(-1)?.status).toBe('SUCCEEDED');

    // The video, through Caddy: whole, then a range of it (what a player asks for to seek).
    const videoUrl = `${stack.url}${last?.videoUrl ?? ''}`;
    const whole = await fetch(videoUrl);
    expect(whole.status).toBe(200);
    expect(whole.headers.get('content-type')).toBe('video/mp4');
    const bytes = new Uint8Array(await whole.arrayBuffer());
    const ranged = await fetch(videoUrl, { headers: { Range: 'bytes=100-199' } });
    expect(ranged.status).toBe(206);
    expect(ranged.headers.get('content-range')).toBe(`bytes 100-199/${bytes.byteLength}`);
    expect(new Uint8Array(await ranged.arrayBuffer())).toEqual(bytes.subarray(100, 200));

    const downloaded = join(dir, 'downloaded.mp4');
    await writeFile(downloaded, bytes);
    expect(await probeVideo(downloaded)).toEqual({
      codec: 'h264',
      pixelFormat: 'yuv420p',
      width: 256,
      height: 256,
      frames: 17,
      frameRate: '12/1',
      formatName: 'mov,mp4,m4a,3gp,3g2,mj2',
    });
    // Faststart, as served: the index (moov) comes before the frames (mdat), so a browser can
    // start playing and seeking before it has the whole file.
    const boxes = topLevelBoxes(bytes);
    expect(boxes[0]).toBe('ftyp');
    expect(boxes).toContain('mdat');
    expect(boxes.indexOf('moov')).toBeGreaterThan(0);
    expect(boxes.indexOf('moov')).toBeLessThan(boxes.indexOf('mdat'));

    // History has both, newest first.
    const history = await graphqlRequest<{ jobs: { edges: { node: { id: string } }[] } }>(
      stack.graphqlUrl,
      '{ jobs(first: 2) { edges { node { id } } } }',
    );
    expect(history.data?.jobs.edges.map((edge) => edge.node.id)).toEqual([job.id, ahead.id]);
  });

  it('refuses invalid input with BAD_USER_INPUT naming the field and rule, queueing nothing', async () => {
    const before = await counts();
    const response = await graphqlRequest(stack.graphqlUrl, SUBMIT, {
      input: { prompt: 'a cat', width: 100, numFrames: 16 },
    });
    expect(response.data).toBeNull();
    expect(response.errors).toHaveLength(1);
    const error = response.errors?.[0];
    expect(error?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'width',
      rule: 'multipleOf',
    });
    expect(error?.message).toMatch(/width must be a multiple of 32 \(got 100\)/);
    expect(error?.message).toMatch(/numFrames must be of the form 8k\+1/);
    expect(JSON.stringify(response)).not.toMatch(/\/work|node_modules|\.ts:\d+|at \w+ \(/);
    expect(await counts()).toEqual(before);

    const unknown = await graphqlRequest(
      stack.graphqlUrl,
      '{ job(id: "00000000-0000-4000-8000-000000000000") { id } }',
    );
    expect(unknown.errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('retries a job whose worker was killed mid-generation, and it succeeds once', async () => {
    const job = await submit({ prompt: 'a storm over the mountains', ...SMALL });
    // At its first RUNNING state the worker is stopped where it is (SIGSTOP), and killed once
    // the job is seen still running: the attempt dies mid-job, however late the update came.
    let held: Promise<() => void> | undefined;
    const watched = watchJob(client(), job.id, (update) => {
      if (held === undefined && update.status === 'RUNNING') held = holdWorker(stack);
    });
    await eventually(async () => {
      if (held === undefined) throw new Error('not running yet');
      await held;
    }, 60_000);
    const atKill = await graphqlRequest<{ job: { status: string } }>(
      stack.graphqlUrl,
      `{ job(id: "${job.id}") { status } }`,
    );
    expect(atKill.data?.job.status).toBe('RUNNING');
    stack.kill('worker-1', 'SIGKILL');
    const updates = await watched.completed;
    const last = updates.at(-1);
    expect(last).toMatchObject({ status: 'SUCCEEDED', attempts: 2, step: 8 });
    expect(updates.filter((update) => update.status === 'SUCCEEDED')).toHaveLength(1);
    // The retry started over: progress went back to the start once, with the new attempt.
    const attempts = updates.map((update) => update.attempts);
    expect(attempts).toEqual([...attempts].sort((a, b) => a - b));
    expect(attempts).toContain(1);
    const video = join(dir, 'retried.mp4');
    await writeFile(
      video,
      new Uint8Array(await (await fetch(`${stack.url}${last?.videoUrl ?? ''}`)).arrayBuffer()),
    );
    expect(await probeVideo(video)).toMatchObject({ width: 256, height: 256, frames: 17 });
  });

  it('restarts an API server without failing a request, telling its WebSockets to reconnect', async () => {
    // Connect until one WebSocket is on api-1 (Caddy counts open connections per upstream).
    const onApi1 = async (): Promise<number> => {
      const response = await fetchVia(stack.caddyAdminAddress, '/reverse_proxy/upstreams');
      const upstreams = (await response.json()) as { address: string; num_requests: number }[];
      return upstreams.find((u) => u.address === stack.apiAddresses['api-1'])?.num_requests ?? 0;
    };
    while ((await onApi1()) === 0 && sockets.length < 10) {
      const socket = webSocketClient(stack.webSocketUrl);
      sockets.push(socket);
      await socket.connected;
    }
    const socketsOnApi1 = await onApi1();
    expect(socketsOnApi1).toBeGreaterThan(0);
    const closes: { code: number; reason: string }[] = [];
    for (const socket of sockets) {
      void socket.closed.then((event) => closes.push(event));
    }

    const progress = { restarted: false, answered: 0 };
    const restart = stack.restart('api-1').then(() => {
      progress.restarted = true;
    });
    while (!progress.restarted || progress.answered < 5) {
      const response = await graphqlRequest<{ system: { model: string } }>(
        stack.graphqlUrl,
        '{ system { model } }',
      );
      expect(response.status).toBe(200);
      expect(response.data?.system.model).toBe('tiny-random');
      progress.answered += 1;
    }
    await restart;
    expect(progress.answered).toBeGreaterThan(5);
    expect(closes).toEqual(
      Array.from({ length: socketsOnApi1 }, () => ({ code: 1012, reason: 'Server restarting' })),
    );
  });

  it('keeps its data in a durable Redis, and carries on after Redis is killed', async () => {
    const before = await submit({ prompt: 'before the crash', ...SMALL });
    await watchJob(client(), before.id).completed;
    const redis = connectRedis(stack.redisUrl, { name: 'e2e', role: 'requests' });
    try {
      const settings = await redis.config('GET', '*');
      const config = Object.fromEntries(
        (settings as string[]).flatMap((value, index, all) =>
          index % 2 === 0 ? [[value, all[index + 1]]] : [],
        ),
      );
      expect(config).toMatchObject({
        appendonly: 'yes',
        appendfsync: 'everysec',
        'maxmemory-policy': 'noeviction',
      });
      // What Redis has written to its file is what a kill must not lose. Its last writes (the
      // job's SUCCEEDED) may still be in its buffer on a busy machine, as everysec allows: wait
      // until they are in the file rather than for a time.
      await appendOnlyFileWritten(redis);
    } finally {
      await closeRedis(redis);
    }
    const restarted = new Promise<void>((resolve) => {
      const stop = stack.onEvent((event) => {
        if (event.type === 'spawned' && event.name === 'redis') {
          stop();
          resolve();
        }
      });
    });
    stack.kill('redis', 'SIGKILL');
    await restarted;

    // The API servers and the worker reconnect by themselves; the history survived.
    const kept = await eventually(async () => {
      const response = await graphqlRequest<{ job: JobResult }>(
        stack.graphqlUrl,
        `{ job(id: "${before.id}") { status videoUrl } }`,
      );
      if (response.data?.job == null) throw new Error(JSON.stringify(response.errors));
      return response.data.job;
    }, 20_000);
    expect(kept).toMatchObject({
      status: 'SUCCEEDED',
      videoUrl: `/generated/${before.id}/out.mp4`,
    });
    const after = await eventually(() => submit({ prompt: 'after the crash', ...SMALL }), 20_000);
    const updates = await watchJob(client(), after.id).completed;
    expect(updates.at(-1)?.status).toBe('SUCCEEDED');
  });

  it("carries a job's id through the logs: submitted on an API server, then the worker's lines", async () => {
    const job = await submit({ prompt: 'a heron standing in a river', ...SMALL });
    expect((await watchJob(client(), job.id).completed).at(-1)?.status).toBe('SUCCEEDED');

    // Every process's JSON lines, as local mode keeps them (.zeus/logs/<process>.log).
    const linesAbout = async (): Promise<Map<string, LogLine[]>> => {
      const byProcess = new Map<string, LogLine[]>();
      for (const name of stack.processNames.filter((name) => name !== 'caddy')) {
        const text = await readFile(join(stack.logDir, `${name}.log`), 'utf8');
        const lines = text
          .split('\n')
          .filter((line) => line.startsWith('{"level"'))
          .map((line) => JSON.parse(line) as LogLine)
          .filter((line) => line.jobId === job.id);
        byProcess.set(name, lines);
      }
      return byProcess;
    };
    // The worker's output reaches its file through a pipe: wait for its last line about the job.
    const byProcess = await eventually(async () => {
      const lines = await linesAbout();
      if (!(lines.get('worker-1') ?? []).some((line) => line.msg === 'job succeeded')) {
        throw new Error('no "job succeeded" line yet');
      }
      return lines;
    }, 10_000);

    const submitted = [...byProcess.entries()].flatMap(([name, lines]) =>
      lines.filter((line) => line.msg === 'job submitted').map((line) => ({ name, line })),
    );
    expect(submitted).toHaveLength(1);
    expect(submitted[0]?.name).toMatch(/^api-\d$/);
    expect(submitted[0]?.line).toMatchObject({
      level: 'info',
      component: 'api',
      jobId: job.id,
      settings: { prompt: 'a heron standing in a river', seed: job.settings.seed },
    });
    const worker = byProcess.get('worker-1') ?? [];
    const messages = worker.map((line) => line.msg);
    expect(messages[0]).toBe('job started');
    expect(messages.at(-1)).toBe('job succeeded');
    for (const line of [submitted[0]?.line, ...worker]) {
      expect(line).toMatchObject({ jobId: job.id, pid: expect.any(Number) as unknown });
      expect(Date.parse(line?.time ?? '')).not.toBeNaN();
    }
    expect(worker.every((line) => line.component === 'worker' && line.level === 'info')).toBe(true);
    expect(worker[0]?.pid).toBe(stack.pid('worker-1'));
  });

  it('serves the web app for every other path', async () => {
    const page = await fetch(`${stack.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(await page.text()).toMatch(/Zeus/);
  });
}
