/**
 * A stand-in for ffmpeg (FFMPEG_PATH) that runs the real one, except that the next encode after
 * `failNext()` asks it for an encoder that does not exist: the job fails with ENCODER_FAILED, as
 * it would with a broken ffmpeg, and the worker goes on with the next job.
 */
import { execFile } from 'node:child_process';
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface FailingFfmpeg {
  /** The wrapper script: FFMPEG_PATH for the worker. */
  readonly path: string;
  /** The next video encode fails (once). */
  failNext(): Promise<void>;
}

export async function failingFfmpeg(dir: string): Promise<FailingFfmpeg> {
  const realFfmpeg = (await run('sh', ['-c', 'command -v ffmpeg'])).stdout.trim();
  const trigger = join(dir, 'ffmpeg-fails-next');
  const path = join(dir, 'ffmpeg-wrapper.sh');
  await writeFile(
    path,
    `#!/bin/bash
# Test-only stand-in for ffmpeg: the real ffmpeg, except that the next encode after the trigger
# file appears asks it for an encoder that does not exist.
trigger='${trigger}'
args=("$@")
for i in "\${!args[@]}"; do
  if [ "\${args[$i]}" = libx264 ] && mv "$trigger" "$trigger.used" 2>/dev/null; then
    args[$i]=zeus-no-such-encoder
  fi
done
exec '${realFfmpeg}' "\${args[@]}"
`,
  );
  await chmod(path, 0o755);
  return {
    path,
    failNext: () => writeFile(trigger, ''),
  };
}
