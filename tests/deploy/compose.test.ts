/**
 * docker-compose.yml, checked without a Docker engine: against the Compose Specification's JSON
 * schema, and for what Zeus needs of it (services, durability, health checks, dependency order,
 * GPU reservation, folders that outlive the containers).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import { beforeAll, describe, expect, it } from 'vitest';
import { serverEnvironment } from '@zeus/server';
import { REPOSITORY_ROOT } from '../../deploy/local-stack.ts';
import { workerEnvironment } from '@zeus/inference/worker-config';
import { loadCompose, readComposeDocument, type ComposeFile } from './compose.ts';
import { describeDockerfile, DOCKERFILES } from './dockerfile.ts';

const require = createRequire(import.meta.url);

/**
 * The Compose Specification's schema (compose-spec's schema/compose-spec.json), as dclint ships
 * it, kept current by its maintainers. It names https://json-schema.org/draft-07/schema as its
 * meta-schema: Ajv's draft-07 meta-schema under that name.
 */
function composeSchemaValidator(): ValidateFunction {
  const schemaPath = join(
    dirname(require.resolve('dclint/package.json')),
    'schemas',
    'compose.schema.json',
  );
  const schema = JSON.parse(readFileSync(schemaPath, 'utf8')) as { $schema: string };
  const ajv = new Ajv({ allErrors: true, strict: false });
  const draft07 = require('ajv/dist/refs/json-schema-draft-07.json') as Record<string, unknown>;
  ajv.addMetaSchema({ ...draft07, $id: schema.$schema });
  return ajv.compile(schema);
}

let validate: ValidateFunction;
let compose: ComposeFile;
beforeAll(() => {
  validate = composeSchemaValidator();
  compose = loadCompose();
});

const LONG_RUNNING = ['redis', 'app1', 'app2', 'app3', 'caddy', 'inference'];

describe('docker-compose.yml', () => {
  it('is valid against the Compose Specification schema', () => {
    const valid = validate(readComposeDocument());
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
  });

  it('would be rejected by that schema with a mistake in the GPU reservation (the check bites)', () => {
    const document = structuredClone(readComposeDocument()) as {
      services: { inference: { deploy: { resources: { reservations: { devices: object[] } } } } };
    };
    document.services.inference.deploy.resources.reservations.devices = [
      { driver: 'nvidia', gpus: 1, capabilities: ['gpu'] },
    ];
    expect(validate(document)).toBe(false);
    expect(validate.errors?.[0]?.instancePath).toBe(
      '/services/inference/deploy/resources/reservations/devices/0',
    );
  });

  it('has the services of the stack, plus the model download as a one-off tool', () => {
    expect(compose.name).toBe('zeus');
    expect(Object.keys(compose.services).sort()).toEqual([...LONG_RUNNING, 'fetch-model'].sort());
    expect(compose.services['fetch-model']?.profiles).toEqual(['tools']);
    expect(compose.services['fetch-model']?.command).toEqual([
      'node',
      '--import',
      'tsx',
      'models/src/cli.ts',
      'fetch',
    ]);
    for (const name of LONG_RUNNING) {
      expect(compose.services[name]?.restart, name).toBe('unless-stopped');
    }
  });

  it('runs Redis durable (AOF, fsync every second), capped, never evicting, on a named volume, with a health check', () => {
    const redis = compose.services['redis']!;
    const command = redis.command!.join(' ');
    // Capped: uploads and everything else cannot take the machine's memory (issue 15).
    expect(command).toContain('--maxmemory 1gb');
    expect(command).toContain('--appendonly yes');
    expect(command).toContain('--appendfsync everysec');
    expect(command).toContain('--maxmemory-policy noeviction');
    expect(redis.volumes).toEqual(['redis-data:/data']);
    expect(Object.keys(compose.volumes ?? {})).toEqual(['redis-data']);
    expect(redis.healthcheck?.test).toEqual(['CMD', 'redis-cli', 'ping']);
  });

  it('starts in dependency order: Redis healthy, then the API servers healthy, then Caddy', () => {
    const order = startOrder(compose);
    for (const app of ['app1', 'app2', 'app3']) {
      expect(compose.services[app]?.depends_on).toEqual({
        redis: { condition: 'service_healthy' },
      });
      expect(order.indexOf(app)).toBeGreaterThan(order.indexOf('redis'));
      expect(order.indexOf('caddy')).toBeGreaterThan(order.indexOf(app));
    }
    expect(compose.services['caddy']?.depends_on).toEqual({
      app1: { condition: 'service_healthy' },
      app2: { condition: 'service_healthy' },
      app3: { condition: 'service_healthy' },
    });
    expect(compose.services['inference']?.depends_on).toEqual({
      redis: { condition: 'service_healthy' },
    });
    // Every service waited on for its health has a health check.
    for (const service of Object.values(compose.services)) {
      for (const [dependency, { condition }] of Object.entries(service.depends_on ?? {})) {
        if (condition === 'service_healthy') {
          expect(compose.services[dependency]?.healthcheck, dependency).toBeDefined();
        }
      }
    }
  });

  it('checks the API servers on /healthz at the port they listen on, and Caddy routes to them', () => {
    for (const app of ['app1', 'app2', 'app3']) {
      const service = compose.services[app]!;
      expect(service.environment?.['ZEUS_API_PORT']).toBe('4000');
      expect(service.healthcheck?.test.join(' ')).toContain('http://127.0.0.1:4000/healthz');
    }
    const caddy = compose.services['caddy']!;
    expect(caddy.environment?.['ZEUS_API_UPSTREAMS']).toBe('app1:4000 app2:4000 app3:4000');
    // The Caddyfile's own default is the same, so compose and the file agree.
    expect(readFileSync(join(REPOSITORY_ROOT, 'Caddyfile'), 'utf8')).toContain(
      '{$ZEUS_API_UPSTREAMS:app1:4000 app2:4000 app3:4000}',
    );
    expect(caddy.healthcheck?.test).toEqual([
      'CMD',
      'wget',
      '-q',
      '--spider',
      'http://127.0.0.1:8080/',
    ]);
  });

  it('publishes port 80 (ZEUS_PORT) to Caddy, which listens on 8080 inside', () => {
    expect(compose.services['caddy']?.ports).toEqual(['80:8080']);
    expect(loadCompose({ ZEUS_PORT: '8081' }).services['caddy']?.ports).toEqual(['8081:8080']);
    expect(compose.services['caddy']?.environment?.['ZEUS_PORT']).toBe('8080');
  });

  it('reserves an NVIDIA GPU for the worker, pinned to device 0, and runs it on CUDA', () => {
    const inference = compose.services['inference']!;
    expect(inference.deploy?.resources?.reservations?.devices).toEqual([
      { driver: 'nvidia', device_ids: ['0'], capabilities: ['gpu'] },
    ]);
    expect(inference.environment?.['ZEUS_DEVICE']).toBe('cuda');
    expect(inference.environment?.['ZEUS_WORKER_ID']).toBe('inference-1');
  });

  it('mounts the host folders: the model’s read-only for the API servers, read-write for the worker; videos shared', () => {
    // The model's own folder in ./models (the default models folder, which also holds the
    // @zeus/models sources: those are not the containers' to see).
    const model = './models/ltxv-2b-0.9.6-distilled:/models/ltxv-2b-0.9.6-distilled';
    const generated = './generated';
    for (const app of ['app1', 'app2', 'app3']) {
      expect(compose.services[app]?.volumes).toEqual([`${model}:ro`]);
      expect(compose.services[app]?.environment?.['ZEUS_MODELS_DIR']).toBe('/models');
    }
    expect(compose.services['inference']?.volumes).toEqual([model, `${generated}:/generated`]);
    expect(compose.services['inference']?.environment?.['ZEUS_MODELS_DIR']).toBe('/models');
    expect(compose.services['inference']?.environment?.['ZEUS_GENERATED_DIR']).toBe('/generated');
    expect(compose.services['fetch-model']?.volumes).toEqual([model]);
    expect(compose.services['fetch-model']?.environment?.['ZEUS_MODELS_DIR']).toBe('/models');
    expect(compose.services['caddy']?.volumes).toEqual([`${generated}:/srv/generated:ro`]);
    // Bind mounts of host folders: `docker compose down` (even with -v) leaves them on disk.
    // ZEUS_MODELS_DIR and ZEUS_GENERATED_DIR move them; ZEUS_MODEL picks the model's folder.
    const moved = loadCompose({
      ZEUS_MODELS_DIR: '/data/models',
      ZEUS_GENERATED_DIR: '/data/videos',
      ZEUS_MODEL: 'tiny-random',
    });
    expect(moved.services['inference']?.volumes).toEqual([
      '/data/models/tiny-random:/models/tiny-random',
      '/data/videos:/generated',
    ]);
    expect(moved.services['app1']?.volumes).toEqual([
      '/data/models/tiny-random:/models/tiny-random:ro',
    ]);
  });

  it('passes the model and the other settings through, defaulting to the real model', () => {
    const app = compose.services['app1']!;
    expect(app.environment?.['ZEUS_MODEL']).toBe('ltxv-2b-0.9.6-distilled');
    expect(app.environment?.['REDIS_URL']).toBe('redis://redis:6379');
    // Unset settings reach the containers empty, which Zeus reads as unset.
    expect(app.environment?.['ZEUS_MAX_QUEUED']).toBe('');
    const tiny = loadCompose({ ZEUS_MODEL: 'tiny-random', HF_TOKEN: 'hf_x' });
    expect(tiny.services['inference']?.environment?.['ZEUS_MODEL']).toBe('tiny-random');
    expect(tiny.services['fetch-model']?.environment?.['HF_TOKEN']).toBe('hf_x');
  });

  it('hands every setting the API server and the worker read to their containers', () => {
    const given = (service: string): string[] =>
      Object.keys(compose.services[service]?.environment ?? {});
    // Local mode's Unix sockets: containers talk over the compose network instead.
    const localOnly = new Set(['ZEUS_API_SOCKET', 'ZEUS_WORKER_SOCKET']);
    for (const variable of Object.keys(serverEnvironment.shape)) {
      if (localOnly.has(variable)) continue;
      expect(given('app1'), `app1 gets ${variable}`).toContain(variable);
    }
    for (const variable of Object.keys(workerEnvironment.shape)) {
      // The status server's address stays the image's default (all interfaces).
      if (variable === 'ZEUS_WORKER_HOST' || localOnly.has(variable)) continue;
      expect(given('inference'), `inference gets ${variable}`).toContain(variable);
    }
    // Caddy's own setting, read by the Caddyfile.
    expect(given('caddy')).toContain('ZEUS_PLAYGROUND');
    expect(readFileSync(join(REPOSITORY_ROOT, 'Caddyfile'), 'utf8')).toContain('{$ZEUS_PLAYGROUND');
  });

  it('builds each image from its Dockerfile, pins every image by exact version, and agrees on the CUDA base', () => {
    const images = new Map<string, string>();
    for (const [name, service] of Object.entries(compose.services)) {
      if (service.build !== undefined) {
        expect(existsSync(join(REPOSITORY_ROOT, service.build.dockerfile)), name).toBe(true);
        expect(service.build.context).toBe('.');
        images.set(service.image ?? '', service.build.dockerfile);
      }
    }
    expect([...images.keys()].sort()).toEqual([
      'zeus-app:local',
      'zeus-caddy:local',
      'zeus-inference:local',
    ]);
    expect(compose.services['redis']?.image).toMatch(/^redis:\d+\.\d+\.\d+-alpine$/);
    const inference = describeDockerfile(DOCKERFILES.inference);
    expect(compose.services['inference']?.build?.args?.['CUDA_IMAGE']).toBe(
      inference.args['CUDA_IMAGE'],
    );
  });
});

/** The services in an order compose may start them (dependencies first); throws on a cycle. */
function startOrder(file: ComposeFile): string[] {
  const order: string[] = [];
  const visiting = new Set<string>();
  const visit = (name: string): void => {
    if (order.includes(name)) return;
    if (visiting.has(name)) throw new Error(`dependency cycle through ${name}`);
    visiting.add(name);
    const service = file.services[name];
    if (service === undefined) throw new Error(`unknown service ${name}`);
    for (const dependency of Object.keys(service.depends_on ?? {})) visit(dependency);
    visiting.delete(name);
    order.push(name);
  };
  for (const name of Object.keys(file.services)) visit(name);
  return order;
}
