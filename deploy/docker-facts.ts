/**
 * Gathers the facts Docker mode decides on (docker-plan.ts): the engine, Compose, the NVIDIA
 * tooling, the GPUs, the model files, free disk, who runs deploy.ts. Only reads: `--dry-run` runs
 * this too.
 */
import { constants, existsSync } from 'node:fs';
import { access, readFile, statfs } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  findModelFiles,
  isModelName,
  legacyModelDir,
  modelDir,
  modelSpec,
  type HubSettings,
} from '@zeus/models';
import { OVERRIDE_FILE } from './compose-override.ts';
import {
  composeVersion,
  hostGpuCount,
  nvidiaContainerHookInstalled,
  type EngineInfo,
} from './docker-cli.ts';
import type { DockerFacts } from './docker-plan.ts';

/** Free bytes on the disk holding `path` (or its nearest existing parent); undefined if unknown. */
async function freeBytes(path: string | undefined): Promise<number | undefined> {
  let current = path;
  while (current !== undefined) {
    try {
      const disk = await statfs(current);
      return disk.bavail * disk.bsize;
    } catch {
      const parent = dirname(current);
      current = parent === current ? undefined : parent;
    }
  }
  return undefined;
}

async function writable(path: string): Promise<boolean> {
  try {
    await access(path, constants.W_OK);
    return true;
  } catch (error) {
    // A folder that does not exist yet is created by this user, who can then write it.
    return (error as NodeJS.ErrnoException).code === 'ENOENT';
  }
}

export interface FactsInput {
  readonly root: string;
  readonly engine: EngineInfo;
  readonly model: string;
  readonly modelsDir: string;
  readonly generatedDir: string;
  readonly hub: HubSettings;
}

export async function gatherDockerFacts(input: FactsInput): Promise<DockerFacts> {
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  const name = input.model;
  const spec = isModelName(name) ? modelSpec(name) : undefined;
  const legacyDir =
    spec === undefined ? undefined : await legacyModelDir(input.modelsDir, spec.name);
  const weightsPresent =
    spec !== undefined &&
    (await findModelFiles(spec, legacyDir ?? modelDir(input.modelsDir, spec.name), input.hub)) !==
      undefined;
  const unwritableDirs: string[] = [];
  if (uid !== 0) {
    // The containers write only in the model's own folder (mounted alone); when it is missing,
    // this user creates it in the models folder.
    const model = join(input.modelsDir, name);
    const modelFolder = existsSync(model) ? model : input.modelsDir;
    for (const dir of [modelFolder, input.generatedDir]) {
      if (!(await writable(dir))) unwritableDirs.push(dir);
    }
  }
  const existingOverride = await readFile(join(input.root, OVERRIDE_FILE), 'utf8').catch(
    () => undefined,
  );
  return {
    engine: input.engine,
    composeVersion: input.engine.cliInstalled ? composeVersion() : undefined,
    nvidiaHookInstalled: nvidiaContainerHookInstalled(),
    hostGpus: hostGpuCount(),
    weightsPresent,
    legacyModelDir: legacyDir,
    modelFromHub: spec?.kind === 'hub',
    modelsDirFreeBytes: await freeBytes(input.modelsDir),
    dockerFreeBytes: input.engine.answers ? await freeBytes(input.engine.rootDir) : undefined,
    hostUser: { uid, gid },
    unwritableDirs,
    existingOverride,
  };
}
