import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureModelFiles, modelSpec } from '@zeus/models';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { OVERRIDE_FILE } from './compose-override.ts';
import {
  chooseMode,
  describePlan,
  IMAGE_USER,
  MODEL_DISK_BYTES,
  MODEL_LOCK_FILE,
  planDockerDeployment,
} from './docker-plan.ts';
import { dockerCommands, facts, GIB, OPTIONS } from './test-support/docker-plan-fixtures.ts';

describe('chooseMode', () => {
  const down = { answers: false, problem: 'Cannot connect to the Docker daemon' };
  const up = { answers: true, problem: undefined };

  it('uses Docker when an engine answers, and says why it runs locally when none does', () => {
    expect(chooseMode({ local: false, docker: false }, up)).toEqual({
      mode: 'docker',
      note: undefined,
    });
    const local = chooseMode({ local: false, docker: false }, down);
    expect(local.mode).toBe('local');
    expect(local.note).toContain('No Docker engine answered (Cannot connect to the Docker daemon)');
  });

  it('follows --local and --docker whatever the engine says', () => {
    expect(chooseMode({ local: true, docker: false }, up).mode).toBe('local');
    expect(chooseMode({ local: false, docker: true }, down)).toEqual({
      mode: 'docker',
      note: undefined,
    });
  });
});

describe('planDockerDeployment', () => {
  it('on a ready GPU server with the weights: build, start, wait; no download, no problems', () => {
    const plan = planDockerDeployment(facts(), OPTIONS);
    expect(plan.problems).toEqual([]);
    expect(plan.url).toBe('http://localhost:80');
    expect(plan.workers).toBe(1);
    expect(plan.steps.map((step) => step.kind)).toEqual([
      'mkdir',
      'docker',
      'docker',
      'wait-web',
      'docker',
      'wait-model',
    ]);
    expect(dockerCommands(plan.steps)).toEqual([
      'compose build',
      'compose up --detach --wait redis app1 app2 app3 caddy',
      'compose up --detach --remove-orphans',
    ]);
    expect(plan.steps.at(-1)).toEqual({
      kind: 'wait-model',
      url: 'http://localhost:80',
      workers: 1,
      services: ['inference'],
    });
    expect(plan.composeEnv).toEqual({
      ZEUS_MODEL: 'ltxv-2b-0.9.6-distilled',
      ZEUS_PORT: '80',
      ZEUS_MODELS_DIR: '/srv/zeus/models',
      ZEUS_GENERATED_DIR: '/srv/zeus/generated',
      // The workers report this host, not their container's id, as their machine.
      ZEUS_NODE_NAME: 'gpu-server-1',
    });
  });

  it('fetches missing weights once the web app is up, starting the workers once it holds the lock', () => {
    const plan = planDockerDeployment(facts({ weightsPresent: false }), OPTIONS);
    expect(plan.problems).toEqual([]);
    const kinds = plan.steps.map((step) =>
      step.kind === 'docker' ? step.args.slice(0, 2).join(' ') : step.kind,
    );
    expect(kinds).toEqual([
      'mkdir',
      'compose build',
      'compose up',
      'wait-web',
      'fetch-model',
      'wait-model',
    ]);
    expect(plan.steps[4]).toEqual({
      kind: 'fetch-model',
      args: ['compose', 'run', '--rm', 'fetch-model'],
      title:
        'Fetching the ltxv-2b-0.9.6-distilled model files into models/ltxv-2b-0.9.6-distilled/',
      lockFile: `/srv/zeus/models/ltxv-2b-0.9.6-distilled/${MODEL_LOCK_FILE}`,
      startWorkers: ['compose', 'up', '--detach', '--remove-orphans'],
    });
  });

  it('moves the model folder an older Zeus kept in models/cache in first, then downloads nothing', () => {
    const legacy = '/srv/zeus/models/cache/ltxv-2b-0.9.6-distilled';
    const plan = planDockerDeployment(facts({ legacyModelDir: legacy }), OPTIONS);
    expect(plan.problems).toEqual([]);
    expect(plan.steps.slice(0, 2)).toEqual([
      { kind: 'move', from: legacy, to: '/srv/zeus/models/ltxv-2b-0.9.6-distilled' },
      {
        kind: 'mkdir',
        paths: ['/srv/zeus/models/ltxv-2b-0.9.6-distilled', '/srv/zeus/generated'],
        chown: IMAGE_USER,
      },
    ]);
    expect(plan.steps.some((step) => step.kind === 'fetch-model')).toBe(false);
    expect(describePlan(plan)).toContain(
      `  mv ${legacy} /srv/zeus/models/ltxv-2b-0.9.6-distilled\n  mkdir -p`,
    );
  });

  it('refuses to start without enough free disk for missing weights, and says how much', () => {
    const plan = planDockerDeployment(
      facts({ weightsPresent: false, modelsDirFreeBytes: 12 * GIB }),
      OPTIONS,
    );
    expect(plan.problems).toEqual([
      `Not enough free disk for the model files in /srv/zeus/models: ${(MODEL_DISK_BYTES / GIB).toFixed(1)} GiB needed, 12.0 GiB free. Free some space, or set ZEUS_MODELS_DIR to a folder on a larger disk.`,
    ]);
    // Present weights need no room; a generated model (tiny-random) needs little.
    expect(planDockerDeployment(facts({ modelsDirFreeBytes: 12 * GIB }), OPTIONS).problems).toEqual(
      [],
    );
    expect(
      planDockerDeployment(
        facts({ weightsPresent: false, modelFromHub: false, modelsDirFreeBytes: 12 * GIB }),
        OPTIONS,
      ).problems,
    ).toEqual([]);
  });

  it('says exactly what is missing: Docker itself', () => {
    const plan = planDockerDeployment(
      facts({
        engine: {
          cliInstalled: false,
          answers: false,
          problem: 'the docker command is not installed',
          runtimes: [],
          cdiDevices: [],
        },
        composeVersion: undefined,
        nvidiaHookInstalled: false,
        hostGpus: undefined,
      }),
      OPTIONS,
    );
    expect(plan.problems[0]).toMatch(/^Docker is not installed: install Docker Engine/);
    expect(plan.problems.join('\n')).not.toContain('Compose');
    expect(plan.problems.join('\n')).toContain('NVIDIA Container Toolkit is missing');
    expect(plan.problems.join('\n')).toContain('nvidia-smi was not found');
  });

  it('says exactly what is missing: the engine, Compose v2, a recent enough Compose', () => {
    const noEngine = planDockerDeployment(
      facts({
        engine: {
          cliInstalled: true,
          answers: false,
          problem: 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock',
          runtimes: [],
          cdiDevices: [],
        },
      }),
      OPTIONS,
    );
    expect(noEngine.problems).toEqual([
      'The Docker engine does not answer (Cannot connect to the Docker daemon at unix:///var/run/docker.sock): start it (systemctl start docker), and make sure this user may use it (root, or the docker group).',
    ]);
    expect(planDockerDeployment(facts({ composeVersion: undefined }), OPTIONS).problems).toEqual([
      'Docker Compose v2 is missing (`docker compose version` failed): install the Compose plugin (the docker-compose-plugin package; https://docs.docker.com/compose/install/linux/).',
    ]);
    expect(planDockerDeployment(facts({ composeVersion: '2.12.2' }), OPTIONS).problems).toEqual([
      'Docker Compose 2.12.2 is too old: Zeus needs 2.20.0 or later (update the docker-compose-plugin package).',
    ]);
  });

  it('needs the NVIDIA runtime: the hook, a registered nvidia runtime or CDI devices will do', () => {
    const without = facts({
      nvidiaHookInstalled: false,
      engine: { ...facts().engine, runtimes: ['runc'] },
    });
    expect(planDockerDeployment(without, OPTIONS).problems).toEqual([
      expect.stringMatching(
        /^The NVIDIA Container Toolkit is missing .*nvidia-ctk runtime configure/,
      ),
    ]);
    const hookOnly = facts({ engine: { ...facts().engine, runtimes: ['runc'] } });
    expect(planDockerDeployment(hookOnly, OPTIONS).problems).toEqual([]);
    const cdi = facts({
      nvidiaHookInstalled: false,
      engine: { ...facts().engine, runtimes: ['runc'], cdiDevices: ['nvidia.com/gpu=0'] },
    });
    expect(planDockerDeployment(cdi, OPTIONS).problems).toEqual([]);
    expect(planDockerDeployment(facts({ hostGpus: 0 }), OPTIONS).problems).toEqual([
      'nvidia-smi lists no GPU: the worker needs an NVIDIA GPU and its driver.',
    ]);
  });

  it('runs one worker per GPU by default, and --gpus N pins N workers to GPUs 0…N-1', () => {
    const four = planDockerDeployment(facts({ hostGpus: 4 }), OPTIONS);
    expect(four.workers).toBe(4);
    const write = four.steps.find((step) => step.kind === 'write-file');
    expect(write).toMatchObject({ path: `/srv/zeus/${OVERRIDE_FILE}` });
    const override = parse(write?.kind === 'write-file' ? write.content : '') as {
      services: Record<string, { environment: Record<string, string>; deploy: unknown }>;
    };
    expect(Object.keys(override.services)).toEqual(['inference-2', 'inference-3', 'inference-4']);
    expect(override.services['inference-3']?.environment['ZEUS_WORKER_ID']).toBe('inference-3');
    expect(override.services['inference-3']?.deploy).toEqual({
      resources: {
        reservations: {
          devices: [{ driver: 'nvidia', device_ids: ['2'], capabilities: ['gpu'] }],
        },
      },
    });
    expect(four.steps.at(-1)).toMatchObject({
      workers: 4,
      services: ['inference', 'inference-2', 'inference-3', 'inference-4'],
    });

    const two = planDockerDeployment(facts({ hostGpus: 4 }), { ...OPTIONS, gpus: 2 });
    expect(two.workers).toBe(2);
    expect(planDockerDeployment(facts({ hostGpus: 2 }), { ...OPTIONS, gpus: 3 }).problems).toEqual([
      '--gpus 3 asks for more GPUs than nvidia-smi lists (2).',
    ]);
  });

  it('is idempotent: an override that is already right is not written again; a stale one is removed', () => {
    const first = planDockerDeployment(facts({ hostGpus: 2 }), OPTIONS);
    const write = first.steps.find((step) => step.kind === 'write-file');
    const content = write?.kind === 'write-file' ? write.content : '';
    const again = planDockerDeployment(facts({ hostGpus: 2, existingOverride: content }), OPTIONS);
    expect(again.steps.some((step) => step.kind === 'write-file')).toBe(false);

    const backToOne = planDockerDeployment(facts({ hostGpus: 2, existingOverride: content }), {
      ...OPTIONS,
      gpus: 1,
    });
    expect(backToOne.steps).toContainEqual({
      kind: 'remove-file',
      path: `/srv/zeus/${OVERRIDE_FILE}`,
    });
    // `up --remove-orphans` then removes inference-2's container.
    expect(dockerCommands(backToOne.steps)).toContain('compose up --detach --remove-orphans');
  });

  it('never overwrites a docker-compose.override.yml it did not write', () => {
    const plan = planDockerDeployment(
      facts({ existingOverride: 'services:\n  caddy:\n    ports: ["443:443"]\n' }),
      OPTIONS,
    );
    expect(plan.problems).toEqual([
      expect.stringMatching(/^docker-compose.override.yml exists and was not written by deploy.ts/),
    ]);
  });

  it('as root: gives the host folders to the images’ user; otherwise runs the containers as the caller', () => {
    const asRoot = planDockerDeployment(facts(), OPTIONS);
    // The model's folder, not the models folder around it (the repository's models/ by default).
    expect(asRoot.steps[0]).toEqual({
      kind: 'mkdir',
      paths: ['/srv/zeus/models/ltxv-2b-0.9.6-distilled', '/srv/zeus/generated'],
      chown: IMAGE_USER,
    });
    expect(asRoot.steps.some((step) => step.kind === 'write-file')).toBe(false);

    const asUser = planDockerDeployment(facts({ hostUser: { uid: 1000, gid: 1000 } }), OPTIONS);
    expect(asUser.steps[0]).toMatchObject({ kind: 'mkdir', chown: undefined });
    const write = asUser.steps.find((step) => step.kind === 'write-file');
    const override = parse(write?.kind === 'write-file' ? write.content : '') as {
      services: Record<string, { user: string }>;
    };
    expect(override.services).toEqual({
      app1: { user: '1000:1000' },
      app2: { user: '1000:1000' },
      app3: { user: '1000:1000' },
      inference: { user: '1000:1000' },
      'fetch-model': { user: '1000:1000' },
    });

    const blocked = planDockerDeployment(
      facts({ hostUser: { uid: 1000, gid: 1000 }, unwritableDirs: ['/srv/zeus/generated'] }),
      OPTIONS,
    );
    expect(blocked.problems).toEqual([
      '/srv/zeus/generated is not writable by this user (uid 1000), whom the containers run as: chown -R 1000:1000 /srv/zeus/generated, or run deploy.ts as root.',
    ]);
  });
});

describe('describePlan (--dry-run)', () => {
  it('prints every command, the environment they get, and the problems first', () => {
    const plan = planDockerDeployment(
      facts({ hostGpus: 2, weightsPresent: false, composeVersion: undefined }),
      { ...OPTIONS, port: 8080 },
    );
    const text = describePlan(plan);
    expect(text).toMatch(
      /^Missing before Zeus can run with Docker:\n {2}- Docker Compose v2 is missing/,
    );
    expect(text).toContain(
      '  export ZEUS_MODEL=ltxv-2b-0.9.6-distilled ZEUS_PORT=8080 ZEUS_MODELS_DIR=/srv/zeus/models ZEUS_GENERATED_DIR=/srv/zeus/generated ZEUS_NODE_NAME=gpu-server-1',
    );
    const commands = text.split('\n').filter((line) => /^ {2}(docker|mkdir|chown|rm) /.test(line));
    const folders = '/srv/zeus/models/ltxv-2b-0.9.6-distilled /srv/zeus/generated';
    expect(commands).toEqual([
      `  mkdir -p ${folders}`,
      `  chown -R 10001:10001 ${folders}`,
      '  docker compose build',
      '  docker compose up --detach --wait redis app1 app2 app3 caddy',
      '  docker compose run --rm fetch-model',
      `  docker compose up --detach --remove-orphans  # as soon as the download holds /srv/zeus/models/ltxv-2b-0.9.6-distilled/${MODEL_LOCK_FILE}`,
    ]);
    expect(text).toContain(`  # write /srv/zeus/${OVERRIDE_FILE}:`);
    expect(text).toContain('"Deployment complete."');
  });
});

describe('MODEL_LOCK_FILE', () => {
  it('is the lock the model downloader takes in the model folder', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'zeus-lock-'));
    try {
      // Held by "another process": the downloader says it waits for exactly this file.
      await writeFile(join(dir, MODEL_LOCK_FILE), '');
      const abort = new AbortController();
      const waiting = new Promise<string>((resolve) => {
        void ensureModelFiles(modelSpec('tiny-random'), dir, {
          signal: abort.signal,
          onProgress: (event) => {
            if (event.type === 'waiting') resolve(event.lockPath);
          },
        }).catch(() => undefined);
      });
      expect(await waiting).toBe(join(dir, MODEL_LOCK_FILE));
      abort.abort();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
