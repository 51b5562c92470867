/**
 * Checks rendered objects against the Kubernetes API's schemas, as published in the
 * `kubernetes-models` package (generated from Kubernetes' OpenAPI document), two ways:
 *
 * - its validators (JSON Schema, compiled with Ajv): required fields, types, formats, enums;
 * - its TypeScript types, with each object written as an object literal of its kind's type and
 *   type-checked: TypeScript refuses a field the type does not have (`readinesProbe`), which
 *   the API's schemas allow but `kubectl apply` (strict field validation) rejects. It reports
 *   the first such problem in each object.
 */
import ts from 'typescript';
import { join } from 'node:path';
import { REPOSITORY_ROOT } from '../../deploy/local-stack.ts';
import type { RenderedObject } from './render.ts';

/** `kubernetes-models/<apiVersion>/<Kind>`: the package's module for one kind. */
function modelModule(object: RenderedObject): string {
  return `kubernetes-models/${object.apiVersion}/${object.kind}`;
}

function describe(object: RenderedObject): string {
  return `${object.kind} ${object.metadata.name}`;
}

interface ModelClass {
  new (data: unknown): { validate(): void };
}

/** Every problem the validators find, one line each ("Deployment x: data/spec/… must be …"). */
export async function schemaProblems(objects: readonly RenderedObject[]): Promise<string[]> {
  const problems: string[] = [];
  for (const object of objects) {
    let model: ModelClass | undefined;
    try {
      const module = (await import(modelModule(object))) as Record<string, ModelClass>;
      model = module[object.kind];
    } catch {
      model = undefined;
    }
    if (model === undefined) {
      problems.push(`${describe(object)}: no schema for ${object.apiVersion} ${object.kind}`);
      continue;
    }
    try {
      new model(object).validate();
    } catch (error) {
      problems.push(`${describe(object)}: ${(error as Error).message}`);
    }
  }
  return problems;
}

const STRICT_CHECK_FILE = join(REPOSITORY_ROOT, 'tests/k8s/__rendered-manifests__.ts');

/**
 * Type-checks every object as a literal of its kind's interface (`IDeployment`, …) in one
 * in-memory TypeScript program; returns the errors, each naming its object.
 */
export function unknownFieldProblems(objects: readonly RenderedObject[]): string[] {
  const lines = objects.flatMap((object, index) => [
    `import type { I${object.kind} as T${index} } from '${modelModule(object)}';`,
    `export const o${index}: T${index} = ${JSON.stringify(object)};`,
  ]);
  const source = lines.join('\n');
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const readFile = host.getSourceFile.bind(host);
  host.getSourceFile = (fileName, languageVersion, ...rest) =>
    fileName === STRICT_CHECK_FILE
      ? ts.createSourceFile(fileName, source, languageVersion)
      : readFile(fileName, languageVersion, ...rest);
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (fileName) => fileName === STRICT_CHECK_FILE || fileExists(fileName);
  const program = ts.createProgram([STRICT_CHECK_FILE], options, host);
  return ts.getPreEmitDiagnostics(program).map((diagnostic) => {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
    if (diagnostic.file === undefined || diagnostic.start === undefined) return message;
    const { line } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
    const object = objects[Math.floor(line / 2)];
    const at = source.slice(diagnostic.start, diagnostic.start + (diagnostic.length ?? 0) + 60);
    return `${object === undefined ? '?' : describe(object)}: ${message} (at ${at}…)`;
  });
}
