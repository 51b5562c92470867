import { describe, expect, it } from 'vitest';
import { parseCommand, UsageError } from '../src/args.ts';
import { outputName } from '../src/commands.ts';

describe('parseCommand', () => {
  it('reads a first-frame image and turning previews off', () => {
    expect(
      parseCommand(['generate', 'a fox', '--image', 'photos/fox.jpg', '--no-preview'], {}),
    ).toMatchObject({
      name: 'generate',
      image: 'photos/fox.jpg',
      settings: { preview: false },
    });
    expect(() => parseCommand(['generate', 'a fox', '--image', ' '], {})).toThrow(UsageError);
    expect(() => parseCommand(['status', '--image', 'x.png'], {})).toThrow(
      /--image does not apply/,
    );
  });

  it('reads generate with every setting', () => {
    expect(
      parseCommand(
        [
          'generate',
          'a red fox',
          '--out',
          'fox.mp4',
          '--negative-prompt',
          'blurry',
          '--width',
          '256',
          '--height',
          '128',
          '--frames',
          '17',
          '--fps',
          '12',
          '--seed',
          '42',
          '--json',
          '--url',
          'http://zeus.example:9000/',
        ],
        {},
      ),
    ).toEqual({
      name: 'generate',
      prompt: 'a red fox',
      settings: {
        negativePrompt: 'blurry',
        width: 256,
        height: 128,
        numFrames: 17,
        frameRate: 12,
        seed: 42,
      },
      out: 'fox.mp4',
      download: true,
      image: null,
      url: 'http://zeus.example:9000',
      json: true,
      apiKey: null,
    });
  });

  it('leaves unset settings to the model and takes the URL from ZEUS_URL', () => {
    expect(
      parseCommand(['generate', 'a', 'fox', '--no-download'], { ZEUS_URL: 'https://zeus.test' }),
    ).toEqual({
      name: 'generate',
      prompt: 'a fox',
      settings: {},
      out: null,
      download: false,
      image: null,
      url: 'https://zeus.test',
      json: false,
      apiKey: null,
    });
    expect(parseCommand(['status'], {})).toEqual({
      name: 'status',
      url: 'http://localhost:8080',
      json: false,
      apiKey: null,
    });
  });

  it('takes the API key from --api-key, else ZEUS_API_KEY', () => {
    expect(parseCommand(['status', '--api-key', 'k-0123456789abcdef'], {})).toMatchObject({
      apiKey: 'k-0123456789abcdef',
    });
    expect(
      parseCommand(['jobs', '--api-key', 'from-flag'], { ZEUS_API_KEY: 'from-env' }),
    ).toMatchObject({ apiKey: 'from-flag' });
    expect(parseCommand(['jobs'], { ZEUS_API_KEY: ' from-env ' })).toMatchObject({
      apiKey: 'from-env',
    });
    expect(parseCommand(['jobs'], { ZEUS_API_KEY: '' })).toMatchObject({ apiKey: null });
    expect(() => parseCommand(['jobs', '--api-key', 'two words'], {})).toThrow(
      /--api-key must not contain spaces/,
    );
  });

  it('reads jobs with paging', () => {
    expect(parseCommand(['jobs', '--first', '5', '--after', 'abc'], {})).toMatchObject({
      name: 'jobs',
      first: 5,
      after: 'abc',
    });
  });

  it('reads job control: priority, webhook, several videos, Ctrl-C, cancel and retry', () => {
    expect(
      parseCommand(
        [
          'generate',
          'a fox',
          '--priority=-3',
          '--webhook-url',
          'https://hooks.example/zeus',
          '--count',
          '3',
          '--keep-running',
        ],
        {},
      ),
    ).toMatchObject({
      name: 'generate',
      settings: { priority: -3, webhookUrl: 'https://hooks.example/zeus' },
      count: 3,
      keepRunning: true,
    });
    expect(parseCommand(['generate', 'a fox'], {})).not.toHaveProperty('keepRunning');
    expect(parseCommand(['cancel', 'job-1', '--json'], {})).toMatchObject({
      name: 'cancel',
      id: 'job-1',
      json: true,
    });
    expect(parseCommand(['retry', 'job-2'], {})).toMatchObject({ name: 'retry', id: 'job-2' });
  });

  it('gives help for no command, help and -h', () => {
    expect(parseCommand([], {})).toEqual({ name: 'help' });
    expect(parseCommand(['help'], {})).toEqual({ name: 'help' });
    expect(parseCommand(['generate', '-h'], {})).toEqual({ name: 'help' });
  });

  it.each([
    [['generate'], 'zeus generate needs a prompt: zeus generate "a red fox in the snow"'],
    [['generate', 'x', '--width', '12.5'], '--width must be a whole number (got "12.5").'],
    [['generate', 'x', '--first', '3'], '--first does not apply to "zeus generate".'],
    [['status', '--seed', '1', '--out', 'f'], '--out, --seed do not apply to "zeus status".'],
    [['jobs', '--first', '101'], '--first must be from 1 to 100 (got 101).'],
    [['status', '--url', 'ftp://x'], '--url must be an http(s) URL (got "ftp://x").'],
    [
      ['render', 'x'],
      'Unknown command "render". Commands: generate, cancel, retry, status, workers, jobs, help.',
    ],
    [['cancel'], 'zeus cancel takes one job id: zeus cancel <job id>'],
    [['retry', 'a', 'b'], 'zeus retry takes one job id: zeus retry <job id>'],
    [['cancel', 'a', '--seed', '1'], '--seed does not apply to "zeus cancel".'],
    [['generate', 'x', '--count', '0'], '--count must be at least 1 (got 0).'],
    [['generate', 'x', '--count', '2', '--seed', '4'], '--seed makes one video'],
    [['generate', 'x', '--colour', 'red'], "Unknown option '--colour'"],
  ])('refuses %j', (argv, message) => {
    expect(() => parseCommand(argv, {})).toThrow(UsageError);
    expect(() => parseCommand(argv, {})).toThrow(message);
  });
});

describe('outputName', () => {
  it('numbers the files of several videos', () => {
    expect(outputName(null, 'id-1', 0, 1)).toBe('zeus-id-1.mp4');
    expect(outputName('fox.mp4', 'id-1', 0, 1)).toBe('fox.mp4');
    expect(outputName('out/fox.mp4', 'id-1', 1, 3)).toBe('out/fox-2.mp4');
    expect(outputName('fox', 'id-1', 0, 2)).toBe('fox-1');
    expect(outputName('v1.0/fox', 'id-1', 0, 2)).toBe('v1.0/fox-1');
  });
});
