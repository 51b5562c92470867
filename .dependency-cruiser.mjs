/**
 * The package graph, checked by dependency-cruiser in `npm run check` (`npm run check:deps` alone).
 * Each workspace sits on a layer and imports only the layers below it:
 *
 *   deploy, bench, scripts, tests (the root)            on top: anything below
 *   server                                              core, models, schema (never inference)
 *   inference (the worker)                              models, core
 *   models                                              core
 *   schema                                              core (its generated types use core's views)
 *   core                                                no other @zeus package
 *   client, cli                                         the API only: types from schema
 *
 * "Production" is what runs for users: the workspaces' sources and deploy/. Test files
 * (`*.test.ts`, `test/`, `test-support/`, `tests/`) may use the root's test helpers; no production
 * file may import them. tests/deploy/package-graph.int.test.ts shows a forbidden import fails.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const WORKSPACES = ['schema', 'core', 'models', 'inference', 'server', 'client', 'cli'];
const ROOT_FOLDERS = ['deploy', 'bench', 'scripts', 'tests'];
/** Test code: test files, test folders, the models' test-support, the root's tests/. */
const TEST_CODE = '(\\.test\\.tsx?$|(^|/)(test|test-support)/|^tests/)';

/** Paths under any of `folders`. */
const under = (folders) => `^(${folders.join('|')})/`;
/** Every top-level folder except `allowed`, and `folder` itself. */
const others = (folder, allowed) =>
  under([...WORKSPACES, ...ROOT_FOLDERS].filter((f) => f !== folder && !allowed.includes(f)));

/** A production file of `folder` imports only from `allowed` (and itself). */
function layer(folder, allowed, comment) {
  return {
    name: `${folder}-layer`,
    comment,
    severity: 'error',
    from: { path: `^${folder}/`, pathNot: TEST_CODE },
    to: { path: others(folder, allowed) },
  };
}

/**
 * The @zeus packages a workspace imports by name are those its package.json declares: one rule per
 * workspace, read from the manifests, so a new import fails until it is declared.
 */
function declaredWorkspaces() {
  return WORKSPACES.map((folder) => {
    const manifest = JSON.parse(
      readFileSync(join(import.meta.dirname, folder, 'package.json'), 'utf8'),
    );
    const declared = Object.keys({ ...manifest.dependencies, ...manifest.devDependencies })
      .filter((name) => name.startsWith('@zeus/'))
      .map((name) => name.slice('@zeus/'.length));
    const undeclared = WORKSPACES.filter((f) => f !== folder && !declared.includes(f));
    return {
      name: `${folder}-declares-its-zeus-imports`,
      comment: `${folder}/package.json declares every @zeus package ${folder} imports by name`,
      severity: 'error',
      from: { path: `^${folder}/` },
      to: { path: under(undeclared), dependencyTypesNot: ['local'] },
    };
  }).filter((rule) => rule.to.path !== '^()/');
}

export default {
  forbidden: [
    layer('core', [], 'core is the bottom layer: it imports no other @zeus package'),
    layer('schema', ['core'], "schema's generated types use core's views, and nothing above"),
    layer('models', ['core'], 'models (files, graphs, the Hub) sit on core only'),
    layer('inference', ['models', 'core'], 'the worker runs models over core, and nothing above'),
    layer(
      'server',
      ['core', 'models', 'schema'],
      'the API server never loads the worker (and so never ONNX Runtime)',
    ),
    layer(
      'deploy',
      WORKSPACES.concat(['scripts']),
      'deploy.ts and deploy/ run for users: they use the workspaces and scripts/system-deps.ts, never bench/ or tests/',
    ),
    {
      name: 'client-uses-api-types-only',
      comment:
        'the web app talks to the API only: types from schema, no runtime code of another package',
      severity: 'error',
      from: { path: '^client/', pathNot: TEST_CODE },
      to: {
        path: others('client', []),
        pathNot: '^schema/',
      },
    },
    {
      name: 'clients-import-schema-types-only',
      comment:
        'the web app and the CLI may import the API types from schema, never its runtime code',
      severity: 'error',
      from: { path: '^(client|cli)/', pathNot: TEST_CODE },
      to: { path: '^schema/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'cli-uses-api-only',
      comment:
        "the CLI talks to the API only. Known exception until one shared API package exists: the web app's entry (@zeus/client's index: its operations, types and describe* helpers), nothing deeper",
      severity: 'error',
      from: { path: '^cli/', pathNot: TEST_CODE },
      to: {
        path: others('cli', []),
        pathNot: '^(schema/|client/src/index\\.ts$)',
      },
    },
    {
      name: 'no-test-code-in-production',
      comment: 'test files, test/ and test-support/ folders and tests/ are never loaded for users',
      severity: 'error',
      from: { path: `${under(WORKSPACES)}|^deploy/|^deploy\\.ts$`, pathNot: TEST_CODE },
      to: { path: TEST_CODE },
    },
    ...declaredWorkspaces(),
    {
      name: 'declares-its-packages',
      comment: 'every npm package imported is declared in the package.json closest to the importer',
      severity: 'error',
      from: {},
      to: { dependencyTypes: ['npm-no-pkg', 'npm-unknown'] },
    },
    {
      name: 'resolvable',
      comment: 'every import resolves (a typo or a missing package fails here, not at run time)',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
    {
      name: 'no-circular',
      comment:
        'no import cycle at run time, so no cycle between packages either. Cycles through type-only imports are erased by the compiler and allowed (one: inference first-frame -> still-compression -> mp4-writer -> pipeline/types, types only)',
      severity: 'error',
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Build output, run output and model folders (gigabytes of weights) are not source.
    exclude: {
      path: '^(client/dist/|generated/|models/(ltxv-2b-0.9.6-distilled|tiny-random|cache)/)',
    },
    // `import type` counts: a layer may not lean on another's types either (see the client rules).
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
    },
    cache: false,
  },
};
