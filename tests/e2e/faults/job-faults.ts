/**
 * Faults 6 to 9 of tests/e2e/faults.test.ts, on its stack (harness.ts): one job's output or model
 * fails while the rest of Zeus is well: generated/ read-only, then full; ffmpeg failing once; a
 * corrupt model file.
 */
import { readdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import {
  SHORT,
  FAULT_TIMEOUT_MS,
  stack,
  dir,
  disk,
  faults,
  submit,
  retry,
  partialFiles,
  expectFinal,
  textEncoderModel,
} from './harness.ts';

/** Registers faults 6 to 9, in order. */
export function jobFaults(): void {
  it(
    '6. generated/ read-only: that job fails with STORAGE_FAILED, the worker takes the next',
    async (context) => {
      if (disk.cannot.readOnly !== undefined) {
        faults.push({ name: 'generated/ read-only', outcome: `skipped: ${disk.cannot.readOnly}` });
        context.skip();
      }
      const worker = stack.pid('worker-1');
      await disk.makeReadOnly();
      faults.push({ name: `generated/ read-only (${disk.kind})`, outcome: '' });
      const refused = await submit('read-only disk', SHORT, {
        status: 'FAILED',
        code: 'STORAGE_FAILED',
      });
      const failed = await expectFinal(refused).finally(() => disk.makeWritable());
      expect(failed.error?.message).toMatch(
        /^The video could not be saved: (the video folder is read-only|the worker may not write to the video folder)\.$/,
      );
      await expectFinal(await submit('read-only disk', SHORT));
      expect(stack.pid('worker-1')).toBe(worker);
      faults[faults.length - 1] = {
        name: `generated/ read-only (${disk.kind})`,
        outcome: `job failed: "${failed.error?.message ?? ''}"; next job succeeded`,
      };
    },
    FAULT_TIMEOUT_MS,
  );

  it(
    '7. generated/ full: that job fails with STORAGE_FAILED, the worker takes the next',
    async (context) => {
      if (disk.cannot.full !== undefined) {
        faults.push({ name: 'generated/ full', outcome: `skipped: ${disk.cannot.full}` });
        context.skip();
      }
      const worker = stack.pid('worker-1');
      await disk.fill();
      faults.push({ name: 'generated/ full (tmpfs)', outcome: '' });
      const refused = await submit('full disk', SHORT, {
        status: 'FAILED',
        code: 'STORAGE_FAILED',
      });
      const failed = await expectFinal(refused).finally(() => disk.unfill());
      expect(failed.error?.message).toBe('The video could not be saved: the disk is full.');
      expect(await partialFiles(refused.id)).toEqual([]);
      await expectFinal(await submit('full disk', SHORT));
      expect(stack.pid('worker-1')).toBe(worker);
      faults[faults.length - 1] = {
        name: 'generated/ full (tmpfs)',
        outcome: `job failed: "${failed.error?.message ?? ''}"; next job succeeded`,
      };
    },
    FAULT_TIMEOUT_MS,
  );

  it(
    '8. ffmpeg fails for one job: it fails with ENCODER_FAILED, its retry succeeds, the next job runs',
    async () => {
      const worker = stack.pid('worker-1');
      await writeFile(join(dir, 'ffmpeg-fails-next'), '');
      faults.push({ name: 'ffmpeg: unknown encoder for one job', outcome: '' });
      const broken = await submit('ffmpeg', SHORT, { status: 'FAILED', code: 'ENCODER_FAILED' });
      const failed = await expectFinal(broken);
      expect(failed.error?.message).toBe('The video encoder (ffmpeg) failed.');
      expect(await partialFiles(broken.id)).toEqual([]);
      // retryJob on the FAILED job: a new job with its settings and seed, which succeeds; the
      // failed job stays as it was.
      const { retried, answer } = await retry('ffmpeg (retry)', broken.id);
      expect(answer.id).not.toBe(broken.id);
      expect(answer.retryOf).toBe(broken.id);
      expect(answer.settings).toEqual(failed.settings);
      const succeeded = await expectFinal(retried);
      expect(succeeded.settings).toEqual(failed.settings);
      expect(succeeded.videoUrl).toBe(`/generated/${retried.id}/out.mp4`);
      expect(await readdir(join(disk.path, retried.id))).toContain('out.mp4');
      await expectFinal(await submit('ffmpeg', SHORT));
      expect(stack.pid('worker-1')).toBe(worker);
      faults[faults.length - 1] = {
        name: 'ffmpeg: unknown encoder for one job',
        outcome: `job failed: "${failed.error?.message ?? ''}"; its retry and the next job succeeded`,
      };
    },
    FAULT_TIMEOUT_MS,
  );

  it(
    '9. the model fails for one job (corrupt model file): MODEL_FAILED, the next job runs',
    async () => {
      const worker = stack.pid('worker-1');
      const model = await textEncoderModel(join(dir, 'models'));
      const intact = `${model}.intact`;
      await rename(model, intact);
      await writeFile(model, 'this is not an ONNX model');
      faults.push({ name: 'model: corrupt text-encoder file for one job', outcome: '' });
      const broken = await submit('model', SHORT, { status: 'FAILED', code: 'MODEL_FAILED' });
      const failed = await expectFinal(broken).finally(() => rename(intact, model));
      expect(failed.error?.message).toBe('The model failed while generating the video.');
      await expectFinal(await submit('model', SHORT));
      expect(stack.pid('worker-1')).toBe(worker);
      faults[faults.length - 1] = {
        name: 'model: corrupt text-encoder file for one job',
        outcome: `job failed: "${failed.error?.message ?? ''}"; next job succeeded`,
      };
    },
    FAULT_TIMEOUT_MS,
  );
}
