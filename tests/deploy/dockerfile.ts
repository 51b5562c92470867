/**
 * Reads what a Dockerfile says about the image it builds, with dockerfile-ast (the parser behind
 * dockerfile-utils' linter): the base images, and the final stage's environment, working
 * directory, user, copies and command. The tests start that command as a plain process.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cmd, DockerfileParser, Entrypoint, Env, From, type Instruction } from 'dockerfile-ast';
import { REPOSITORY_ROOT } from '../../deploy/local-stack.ts';

export const DOCKERFILES = {
  app: 'deploy/docker/app.Dockerfile',
  inference: 'deploy/docker/inference.Dockerfile',
  caddy: 'deploy/docker/caddy.Dockerfile',
} as const;

export interface Stage {
  /** The base image, with the ARGs before the first FROM substituted. */
  readonly from: string;
  readonly name: string | undefined;
  readonly instructions: readonly Instruction[];
}

export interface ImageDescription {
  readonly text: string;
  /** ARGs declared before the first FROM, with their defaults. */
  readonly args: Readonly<Record<string, string>>;
  readonly stages: readonly Stage[];
  /** The final stage's ENV, in order. */
  readonly env: Readonly<Record<string, string>>;
  readonly workdir: string | undefined;
  readonly user: string | undefined;
  /** ENTRYPOINT then CMD (exec form), as the container starts them. */
  readonly command: readonly string[];
  /** COPY instructions of the final stage without --from: [sources…, destination]. */
  readonly copies: readonly (readonly string[])[];
}

function substitute(text: string, args: Readonly<Record<string, string>>): string {
  return text.replace(/\$\{(\w+)\}|\$(\w+)/g, (whole, braced?: string, bare?: string) => {
    const name = braced ?? bare ?? '';
    return args[name] ?? whole;
  });
}

export function describeDockerfile(path: string): ImageDescription {
  const text = readFileSync(join(REPOSITORY_ROOT, path), 'utf8');
  const dockerfile = DockerfileParser.parse(text);
  const args: Record<string, string> = {};
  for (const arg of dockerfile.getInitialARGs()) {
    const property = arg.getProperty();
    if (property !== null) args[property.getName()] = property.getValue() ?? '';
  }
  const stages: { from: string; name: string | undefined; instructions: Instruction[] }[] = [];
  for (const instruction of dockerfile.getInstructions()) {
    if (instruction instanceof From) {
      stages.push({
        from: substitute(instruction.getImage() ?? '', args),
        name: instruction.getBuildStage() ?? undefined,
        instructions: [],
      });
    } else {
      stages.at(-1)?.instructions.push(instruction);
    }
  }
  const final = stages.at(-1);
  if (final === undefined) throw new Error(`${path} has no FROM`);
  const env: Record<string, string> = {};
  let workdir: string | undefined;
  let user: string | undefined;
  let entrypoint: string[] = [];
  let cmd: string[] = [];
  const copies: string[][] = [];
  for (const instruction of final.instructions) {
    const keyword = instruction.getKeyword();
    if (instruction instanceof Env) {
      for (const property of instruction.getProperties()) {
        env[property.getName()] = property.getUnescapedValue() ?? '';
      }
    } else if (instruction instanceof Cmd) {
      cmd = instruction.getJSONStrings().map((word) => word.getJSONValue());
    } else if (instruction instanceof Entrypoint) {
      entrypoint = instruction.getJSONStrings().map((word) => word.getJSONValue());
    } else if (keyword === 'WORKDIR') {
      workdir = instruction.getArgumentsContent() ?? undefined;
    } else if (keyword === 'USER') {
      user = instruction.getArgumentsContent() ?? undefined;
    } else if (keyword === 'COPY') {
      const words = instruction.getArguments().map((argument) => argument.getValue());
      if (!words.some((word) => word.startsWith('--from='))) copies.push(words);
    }
  }
  return {
    text,
    args,
    stages,
    env,
    workdir,
    user,
    command: [...entrypoint, ...cmd],
    copies,
  };
}
