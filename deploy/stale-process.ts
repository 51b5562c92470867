/**
 * A program the local stack started in an earlier run can outlive it when that run was killed
 * outright. Redis and Caddy write pid files into the stack's data folder; before starting them
 * again, a process still running under such a pid, and still that program, is stopped, so two
 * Redis servers never share one data folder.
 */
import { readFile, rm } from 'node:fs/promises';

export async function stopStaleProcess(
  pidFile: string,
  program: string,
  graceMs = 10_000,
): Promise<boolean> {
  let pid: number;
  try {
    pid = Number((await readFile(pidFile, 'utf8')).trim());
  } catch {
    return false;
  }
  if (!Number.isInteger(pid) || pid <= 1 || !(await isRunning(pid, program))) {
    await rm(pidFile, { force: true });
    return false;
  }
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (await isRunning(pid, program)) {
    if (Date.now() > deadline) {
      process.kill(pid, 'SIGKILL');
      break;
    }
    // No way to wait for a process that is not our child but to look again.
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await rm(pidFile, { force: true });
  return true;
}

async function isRunning(pid: number, program: string): Promise<boolean> {
  try {
    const commandLine = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    return commandLine.includes(program);
  } catch {
    return false;
  }
}
