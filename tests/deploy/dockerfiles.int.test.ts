/**
 * The images, checked without a Docker engine: the Dockerfiles are linted (dockerfile-utils, no
 * rule turned off) and held to what the deployment promises (multi-stage, pinned bases, a
 * non-root user, the CUDA provider, only ffmpeg from the distribution); then each image's command
 * is started as a plain process, from the repository (the image's /app), with the environment the
 * Dockerfile and docker-compose.yml give it. Only what Docker itself provides is replaced: the
 * addresses of the other containers, the mounted folders, and the GPU (the worker runs the tiny
 * model on the CPU here). Redis is real; a job goes through Caddy, the API server and the worker.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validate } from 'dockerfile-utils';
import semver from 'semver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unixAddress } from '../../deploy/endpoints.ts';
import { REPOSITORY_ROOT } from '../../deploy/local-stack.ts';
import { reservePort, type PortReservation } from '../../deploy/ports.ts';
import { Supervisor } from '../../deploy/supervisor.ts';
import { eventually } from '../helpers/eventually.ts';
import { graphqlRequest, SUBMIT, type JobResult } from '../helpers/graphql.ts';
import { listeningPort } from '../helpers/listening.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis.ts';
import { loadCompose, type ComposeService } from './compose.ts';
import { describeDockerfile, DOCKERFILES, type ImageDescription } from './dockerfile.ts';

const images = {
  app: describeDockerfile(DOCKERFILES.app),
  inference: describeDockerfile(DOCKERFILES.inference),
  caddy: describeDockerfile(DOCKERFILES.caddy),
};

describe('the Dockerfiles', () => {
  it('pass dockerfile-utils’ linter with every rule on', () => {
    for (const [name, image] of Object.entries(images)) {
      const problems = validate(image.text).map(
        (problem) =>
          `${name}:${problem.range.start.line + 1}: ${typeof problem.message === 'string' ? problem.message : problem.message.value}`,
      );
      expect(problems).toEqual([]);
    }
  });

  it('build in stages from base images pinned to exact versions, and run as a non-root user', () => {
    for (const [name, image] of Object.entries(images)) {
      expect(image.stages.length, name).toBeGreaterThanOrEqual(2);
      for (const stage of image.stages) {
        expect(stage.from, name).toMatch(/^[\w./-]+:\d+\.\d+\.\d+(-[\w.-]+)?$/);
      }
      expect(image.user, name).toBe('10001:10001');
    }
    expect(images.inference.stages.at(-1)?.from).toMatch(
      /^nvidia\/cuda:\d+\.\d+\.\d+-cudnn-runtime-ubuntu\d+\.\d+$/,
    );
    expect(images.caddy.stages.at(-1)?.from).toMatch(/^caddy:2\.\d+\.\d+-alpine$/);
  });

  it('run one Node.js LTS release (22 or later) that package.json’s engines accepts', () => {
    const { engines } = JSON.parse(readFileSync(join(REPOSITORY_ROOT, 'package.json'), 'utf8')) as {
      engines: { node: string };
    };
    const nodeImages = new Set(Object.values(images).map((image) => image.args['NODE_IMAGE']));
    expect(nodeImages.size).toBe(1);
    const [nodeImage = ''] = nodeImages;
    const version = /^node:(\d+\.\d+\.\d+)-[\w.-]+$/.exec(nodeImage)?.[1] ?? '';
    expect(semver.valid(version), nodeImage).not.toBeNull();
    // Even majors become LTS; 20 reached its end of life in April 2026.
    expect(semver.major(version) % 2).toBe(0);
    expect(semver.major(version)).toBeGreaterThanOrEqual(22);
    expect(semver.satisfies(version, engines.node)).toBe(true);
    // The worker's final stage is the CUDA image: it runs the node binary of the same release.
    expect(images.inference.text).toContain(
      'COPY --from=deps /usr/local/bin/node /usr/local/bin/node',
    );
  });

  it('give the worker image the CUDA provider of the installed onnxruntime-node, and only ffmpeg besides', () => {
    const text = images.inference.text;
    const flag = /ONNXRUNTIME_NODE_INSTALL=(\S+) node script\/install\.js/.exec(text)?.[1];
    // The installed onnxruntime-node's own parser reads the flag as "force the install" (1.30
    // reads a manifest name such as cuda12 as unset, which installs only when files are missing).
    const require = createRequire(import.meta.url);
    const { parseInstallFlag } = require('onnxruntime-node/script/install-utils.js') as {
      parseInstallFlag: () => unknown;
    };
    const saved = process.env['ONNXRUNTIME_NODE_INSTALL'];
    process.env['ONNXRUNTIME_NODE_INSTALL'] = flag;
    try {
      expect(parseInstallFlag()).toBe(true);
    } finally {
      if (saved === undefined) delete process.env['ONNXRUNTIME_NODE_INSTALL'];
      else process.env['ONNXRUNTIME_NODE_INSTALL'] = saved;
    }
    expect(text).toContain('test -f bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so');
    expect(text).toContain("ldd libonnxruntime_providers_cuda.so | grep 'not found'");
    const installs = [...text.matchAll(/apt-get install -y --no-install-recommends ([^\\\n&]+)/g)];
    expect(installs.map((match) => match[1]?.trim())).toEqual(['ffmpeg']);
  });

  it('install only the workspaces each entry point imports, and copy their sources', () => {
    for (const [image, entry] of [
      [images.app, 'server/src/main.ts'],
      [images.inference, 'inference/src/main.ts'],
    ] as const) {
      const needed = workspacesImportedBy(entry);
      const installed = [...image.text.matchAll(/-w @zeus\/(\w+)/g)].map((match) => match[1]);
      const copied = image.copies.map((words) => words[0]);
      for (const workspace of needed) {
        expect(installed, `${entry} imports @zeus/${workspace}`).toContain(workspace);
        expect(copied, `${entry} imports @zeus/${workspace}`).toContain(workspace);
      }
      expect(image.command).toEqual(['node', '--import', 'tsx', entry]);
    }
  });

  it('give npm ci every workspace manifest the lock file names', () => {
    const root = JSON.parse(readFileSync(join(REPOSITORY_ROOT, 'package.json'), 'utf8')) as {
      workspaces: string[];
    };
    for (const [name, image] of Object.entries(images)) {
      const depsStage = image.stages[0]!;
      const copied = depsStage.instructions
        .filter((instruction) => instruction.getKeyword() === 'COPY')
        .map((instruction) => instruction.getArguments()[0]?.getValue());
      for (const workspace of root.workspaces) {
        expect(copied, `${name} copies ${workspace}/package.json`).toContain(
          `${workspace}/package.json`,
        );
      }
    }
  });

  it('leave the model files, videos and node_modules out of the build context', () => {
    const ignored = readFileSync(join(REPOSITORY_ROOT, '.dockerignore'), 'utf8').split('\n');
    // models/: all but the workspace (tests/deploy/models-folder.int.test.ts).
    for (const entry of ['**/node_modules', '.git', 'generated', 'models/*', '.zeus']) {
      expect(ignored).toContain(entry);
    }
  });
});

/** The Zeus workspaces a file reaches through its imports, transitively (type imports aside). */
function workspacesImportedBy(entry: string): Set<string> {
  const workspaces = new Set<string>();
  const seen = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    const source = readFileSync(join(REPOSITORY_ROOT, file), 'utf8');
    const specifiers = [
      ...source.matchAll(/^\s*(?:import|export)\s+(?!type\b)[^'";]*?from\s+'([^']+)'/gm),
      ...source.matchAll(/\bimport\(\s*'([^']+)'\s*\)/g),
    ].map((match) => match[1] ?? '');
    for (const specifier of specifiers) {
      if (specifier.startsWith('.')) {
        visit(join(file, '..', specifier));
      } else if (specifier.startsWith('@zeus/')) {
        const [, name, ...rest] = specifier.split('/');
        if (name === undefined) continue;
        workspaces.add(name);
        const manifest = JSON.parse(
          readFileSync(join(REPOSITORY_ROOT, name, 'package.json'), 'utf8'),
        ) as { exports: Record<string, string> };
        const target = manifest.exports[rest.length === 0 ? '.' : `./${rest.join('/')}`];
        if (target !== undefined) visit(join(name, target));
      }
    }
  };
  visit(entry);
  return workspaces;
}

/**
 * The environment a container gets: the image's ENV, then the compose service's `environment`
 * (interpolated from `hostEnv`), then what stands in for Docker here (`replaced`). Nothing of this
 * test process's environment but PATH (to find node and caddy) and HOME.
 */
function containerEnv(
  image: ImageDescription,
  service: ComposeService,
  replaced: Readonly<Record<string, string>>,
): Record<string, string> {
  return {
    PATH: process.env['PATH'] ?? '',
    HOME: process.env['HOME'] ?? tmpdir(),
    ...image.env,
    ...service.environment,
    ...replaced,
  };
}

/** The container path a service mounts (`host:container[:mode]`), checked to exist in compose. */
function mountPoint(service: ComposeService, container: string): string {
  const volume = service.volumes?.find((entry) => entry.split(':')[1] === container);
  if (volume === undefined) throw new Error(`no volume mounted at ${container}`);
  return container;
}

/**
 * Runs a compose health check (`[CMD, …]`) as a process, with the container's address replaced
 * by the one the test's process listens on; resolves with its exit status.
 */
async function runHealthcheck(
  service: ComposeService,
  from: string,
  to: string,
): Promise<number | null> {
  const [kind, command, ...args] = service.healthcheck?.test ?? [];
  expect(kind).toBe('CMD');
  const child = spawn(
    command ?? '',
    args.map((arg) => arg.replaceAll(from, to)),
    {
      stdio: 'ignore',
    },
  );
  const [code] = (await once(child, 'exit')) as [number | null];
  return code;
}

describe('the images’ commands, run as plain processes', () => {
  let redis: TestRedis;
  let dir: string;
  let supervisor: Supervisor;
  // The server and the worker take any free port and say which; Caddy's is reserved for it.
  let appPort: number;
  let caddyPort: PortReservation;
  let workerPort: number;
  let generatedDir: string;
  // docker-compose.yml as `ZEUS_MODEL=tiny-random docker compose up` reads it.
  const compose = loadCompose({ ZEUS_MODEL: 'tiny-random' });

  beforeAll(async () => {
    redis = await startTestRedis();
    dir = await mkdtemp(join(tmpdir(), 'zeus-images-'));
    supervisor = new Supervisor({ logDir: join(dir, 'logs'), stopGraceMs: 10_000 });
    caddyPort = await reservePort();
    generatedDir = join(dir, 'generated');
  });

  afterAll(async () => {
    caddyPort.release();
    await supervisor.stop([['caddy'], ['app1', 'inference']]);
    await redis.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('the API server image answers /healthz', async () => {
    const app = compose.services['app1']!;
    const image = images.app;
    // Compose mounts the model's folder in the image's ZEUS_MODELS_DIR, and only that.
    expect(image.env['ZEUS_MODELS_DIR']).toBe('/models');
    expect(mountPoint(app, '/models/tiny-random')).toBe('/models/tiny-random');
    const [command, ...args] = image.command;
    await supervisor.start({
      name: 'app1',
      command: command!,
      args,
      cwd: REPOSITORY_ROOT,
      ipc: true,
      env: containerEnv(image, app, {
        REDIS_URL: redis.url,
        ZEUS_API_HOST: '127.0.0.1',
        ZEUS_API_PORT: '0',
        ZEUS_MODELS_DIR: join(dir, 'models'),
        // Info, for the "listening" line with its port.
        ZEUS_LOG_LEVEL: 'info',
      }),
    });
    appPort = await listeningPort(supervisor, 'app1', 60_000);
    const health = await eventually(async () => {
      const response = await fetch(`http://127.0.0.1:${appPort}/healthz`);
      if (!response.ok) throw new Error(`healthz: ${response.status}`);
      return (await response.json()) as unknown;
    }, 60_000);
    expect(health).toMatchObject({ status: 'ok' });
    // Compose's health check, run as it is, agrees.
    expect(await runHealthcheck(app, '127.0.0.1:4000', `127.0.0.1:${appPort}`)).toBe(0);
  });

  it('the worker image connects to Redis and loads the (tiny) model on the CPU', async () => {
    const inference = compose.services['inference']!;
    const image = images.inference;
    expect(inference.environment?.['ZEUS_GENERATED_DIR']).toBe(mountPoint(inference, '/generated'));
    expect(image.env['ZEUS_DEVICE']).toBe('cuda');
    // NVENC needs the driver's video libraries in the container (ZEUS_VIDEO_ENCODER).
    expect(image.env['NVIDIA_DRIVER_CAPABILITIES']?.split(',')).toEqual(
      expect.arrayContaining(['compute', 'utility', 'video']),
    );
    const [command, ...args] = image.command;
    await supervisor.start({
      name: 'inference',
      command: command!,
      args,
      cwd: REPOSITORY_ROOT,
      ipc: true,
      env: containerEnv(image, inference, {
        REDIS_URL: redis.url,
        ZEUS_DEVICE: 'cpu',
        ZEUS_MODELS_DIR: join(dir, 'models'),
        ZEUS_GENERATED_DIR: generatedDir,
        ZEUS_PROGRESS_INTERVAL_MS: '0',
        ZEUS_WORKER_HOST: '127.0.0.1',
        ZEUS_WORKER_PORT: '0',
        // Info, for the status server's "listening" line with its port.
        ZEUS_LOG_LEVEL: 'info',
      }),
    });
    workerPort = await listeningPort(supervisor, 'inference', 60_000);
    const system = await eventually(async () => {
      const response = await graphqlRequest<{
        system: { workersOnline: number; modelReady: boolean; model: string };
      }>(`http://127.0.0.1:${appPort}/graphql`, '{ system { workersOnline modelReady model } }');
      const status = response.data?.system;
      if (status?.modelReady !== true) throw new Error(`not ready: ${JSON.stringify(response)}`);
      return status;
    }, 60_000);
    expect(system).toEqual({ workersOnline: 1, modelReady: true, model: 'tiny-random' });
    // Its health check (the status server's /healthz) passes once the model is loaded.
    const port = inference.environment?.['ZEUS_WORKER_PORT'] ?? '';
    expect(inference.healthcheck?.test.join(' ')).toContain(`http://127.0.0.1:${port}/healthz`);
    expect(
      await eventually(async () => {
        const code = await runHealthcheck(
          inference,
          `127.0.0.1:${port}`,
          `127.0.0.1:${workerPort}`,
        );
        if (code !== 0) throw new Error(`health check exit ${code}`);
        return code;
      }, 30_000),
    ).toBe(0);
  });

  it('the Caddy image serves the web app, the API and the videos, and a job goes through', async () => {
    const caddy = compose.services['caddy']!;
    const image = images.caddy;
    // Its Caddyfile is the repository's, copied to where its command reads it.
    expect(image.copies).toContainEqual(['Caddyfile', '/etc/caddy/Caddyfile']);
    expect(caddy.environment?.['ZEUS_GENERATED_DIR']).toBe(mountPoint(caddy, '/srv/generated'));
    const clientDir = join(REPOSITORY_ROOT, 'client', 'placeholder');
    const [command, ...args] = image.command.map((word) =>
      word === '/etc/caddy/Caddyfile' ? join(REPOSITORY_ROOT, 'Caddyfile') : word,
    );
    await supervisor.start({
      name: 'caddy',
      command: command!,
      args,
      cwd: REPOSITORY_ROOT,
      env: containerEnv(image, caddy, {
        ZEUS_PORT: String(caddyPort.port),
        ZEUS_API_UPSTREAMS: `127.0.0.1:${appPort}`,
        ZEUS_CLIENT_DIR: clientDir,
        ZEUS_GENERATED_DIR: generatedDir,
        ZEUS_CADDY_ADMIN: unixAddress(join(dir, 'caddy-admin.sock')),
        XDG_DATA_HOME: join(dir, 'caddy'),
        XDG_CONFIG_HOME: join(dir, 'caddy'),
      }),
    });
    const url = `http://127.0.0.1:${caddyPort.port}`;
    const page = await eventually(async () => {
      const response = await fetch(`${url}/`);
      if (!response.ok) throw new Error(`GET /: ${response.status}`);
      return response.text();
    }, 30_000);
    expect(page).toBe(readFileSync(join(clientDir, 'index.html'), 'utf8'));

    const submitted = await graphqlRequest<{ submitPrompt: JobResult }>(`${url}/graphql`, SUBMIT, {
      input: { prompt: 'a red fox in the snow', width: 256, height: 256, numFrames: 9 },
    });
    expect(submitted.errors).toBeUndefined();
    const id = submitted.data?.submitPrompt.id ?? '';
    const done = await eventually(async () => {
      const response = await graphqlRequest<{ job: JobResult }>(
        `${url}/graphql`,
        'query ($id: ID!) { job(id: $id) { status videoUrl } }',
        { id },
      );
      const job = response.data?.job;
      if (job?.status !== 'SUCCEEDED') throw new Error(`job: ${JSON.stringify(job)}`);
      return job;
    }, 60_000);
    expect(existsSync(join(generatedDir, id, 'out.mp4'))).toBe(true);
    const video = await fetch(`${url}${done.videoUrl ?? ''}`);
    expect(video.status).toBe(200);
    expect(video.headers.get('content-type')).toBe('video/mp4');
    expect((await video.arrayBuffer()).byteLength).toBeGreaterThan(1000);
  });
});
