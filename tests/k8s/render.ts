/**
 * Renders deploy/kustomize with `kubectl kustomize`, the renderer `kubectl apply -k` uses, so
 * the tests check exactly what a cluster would get.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { REPOSITORY_ROOT } from '../../deploy/local-stack.ts';

const run = promisify(execFile);

export const KUSTOMIZE_DIR = resolve(REPOSITORY_ROOT, 'deploy/kustomize');

/** The kustomize release the manifests are written for (kubectl 1.27 and later embed it). */
const KUSTOMIZE_MAJOR = 5;

/** A rendered Kubernetes object, before its schema is checked. */
export interface RenderedObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string };
  readonly [field: string]: unknown;
}

/**
 * Fails with what to install when kubectl is missing or embeds a kustomize older than v5
 * (Debian 12's kubernetes-client is kubectl 1.20, with kustomize v2: too old).
 */
export async function checkKustomize(): Promise<string> {
  let output;
  try {
    output = await run('kubectl', ['version', '--client', '-o', 'json']);
  } catch (error) {
    throw new Error(
      `Rendering deploy/kustomize needs kubectl 1.27 or later (kustomize v${KUSTOMIZE_MAJOR}), ` +
        `which is not installed here: ${(error as Error).message}`,
      { cause: error },
    );
  }
  const version = (JSON.parse(output.stdout) as { kustomizeVersion?: string }).kustomizeVersion;
  const major = Number(/^v(\d+)\./.exec(version ?? '')?.[1] ?? 0);
  if (major < KUSTOMIZE_MAJOR) {
    throw new Error(
      `Rendering deploy/kustomize needs kubectl 1.27 or later (kustomize v${KUSTOMIZE_MAJOR}); ` +
        `this kubectl embeds kustomize ${version ?? '(unknown)'}.`,
    );
  }
  return version ?? '';
}

/**
 * `kubectl kustomize <dir>`, parsed. Anything kustomize writes on standard error (a deprecated
 * field, for one) fails the render: the manifests must apply without warnings.
 */
export async function renderKustomization(dir: string): Promise<RenderedObject[]> {
  const { stdout, stderr } = await run('kubectl', ['kustomize', dir], {
    maxBuffer: 16 * 1024 * 1024,
  });
  if (stderr.trim() !== '') throw new Error(`kubectl kustomize ${dir} warned:\n${stderr}`);
  return parseAllDocuments(stdout).map((document) => {
    if (document.errors.length > 0) throw new Error(document.errors.join('\n'));
    return document.toJS() as RenderedObject;
  });
}

/**
 * Renders an overlay written on the fly, as an operator writes their own: `kustomization` is
 * its kustomization.yaml, and `{{kustomize}}` in it stands for deploy/kustomize's path
 * (relative: kustomize refuses absolute ones).
 */
export async function renderOwnOverlay(kustomization: string): Promise<RenderedObject[]> {
  const dir = await mkdtemp(join(tmpdir(), 'zeus-overlay-'));
  try {
    await writeFile(
      join(dir, 'kustomization.yaml'),
      kustomization.replaceAll('{{kustomize}}', relative(dir, KUSTOMIZE_DIR)),
    );
    return await renderKustomization(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
