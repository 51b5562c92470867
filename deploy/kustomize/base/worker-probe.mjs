// The worker's Kubernetes probe: `node worker-probe.mjs ready|live`, run by the kubelet inside
// the worker container, which has the worker's environment (REDIS_URL, ZEUS_REDIS_PREFIX,
// ZEUS_WORKER_ID).
//
// It reads the worker's heartbeat in Redis (core/src/worker-heartbeats.ts), the record the API
// reports workers from: a key `<prefix>:worker:<id>` that expires 15 s after the last beat,
// holding JSON with `modelReady` and `modelStatus`. So:
//
//   ready  exit 0 when the heartbeat says the model is loaded (the worker takes jobs); else 1,
//          with what the worker says it is doing (downloading the model, …).
//   live   exit 1 only when Redis answers and the heartbeat is gone: the worker has not beaten
//          for 15 s. Redis being unreachable is not the worker's fault, and restarting it would
//          not help, so that counts as alive.
//
// Plain JavaScript on Node's built-ins only, speaking RESP itself: it runs with `node` alone,
// whatever the image's layout, and starts in a fraction of the worker's own start time.
import { connect as connectTcp } from 'node:net';
import { connect as connectTls } from 'node:tls';

const TIMEOUT_MS = 5_000;

/** Encodes a command as a RESP array of bulk strings. */
function command(...parts) {
  return `*${parts.length}\r\n${parts.map((part) => `$${Buffer.byteLength(part)}\r\n${part}\r\n`).join('')}`;
}

/**
 * Reads one RESP reply from the start of `buffer`: `{ value, rest }`, or undefined while it
 * is incomplete. Errors come back as `{ error }`; only the reply types these commands get
 * (simple strings, errors, bulk strings, nil) are understood.
 */
function parseReply(buffer) {
  const end = buffer.indexOf('\r\n');
  if (end < 0) return undefined;
  const type = buffer[0];
  const line = buffer.subarray(1, end).toString();
  const afterLine = buffer.subarray(end + 2);
  if (type === 0x2b /* + */) return { value: line, rest: afterLine };
  if (type === 0x2d /* - */) return { value: { error: line }, rest: afterLine };
  if (type === 0x3a /* : */) return { value: Number(line), rest: afterLine };
  if (type === 0x24 /* $ */) {
    const length = Number(line);
    if (length < 0) return { value: null, rest: afterLine };
    if (afterLine.length < length + 2) return undefined;
    return {
      value: afterLine.subarray(0, length).toString(),
      rest: afterLine.subarray(length + 2),
    };
  }
  throw new Error(`unexpected Redis reply type ${JSON.stringify(String.fromCharCode(type))}`);
}

/** Sends the commands in one go and resolves with their replies, in order. */
function ask(url, commands) {
  return new Promise((resolve, reject) => {
    const port = url.port === '' ? 6379 : Number(url.port);
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    const socket =
      url.protocol === 'rediss:'
        ? connectTls({ host, port, servername: host })
        : connectTcp({ host, port });
    const replies = [];
    let pending = Buffer.alloc(0);
    socket.setTimeout(TIMEOUT_MS, () => {
      socket.destroy(new Error(`no answer from Redis within ${TIMEOUT_MS} ms`));
    });
    socket.once(url.protocol === 'rediss:' ? 'secureConnect' : 'connect', () => {
      socket.write(commands.map((parts) => command(...parts)).join(''));
    });
    socket.on('data', (chunk) => {
      pending = Buffer.concat([pending, chunk]);
      for (;;) {
        const reply = parseReply(pending);
        if (reply === undefined) break;
        replies.push(reply.value);
        pending = reply.rest;
      }
      if (replies.length === commands.length) {
        socket.end();
        resolve(replies);
      }
    });
    socket.on('error', reject);
    socket.on('close', () => {
      reject(new Error('Redis closed the connection'));
    });
  });
}

/** The commands that read this worker's heartbeat: AUTH and SELECT first when the URL says. */
function heartbeatCommands(url, key) {
  const commands = [];
  const password = decodeURIComponent(url.password);
  const username = decodeURIComponent(url.username);
  if (password !== '') {
    commands.push(username === '' ? ['AUTH', password] : ['AUTH', username, password]);
  }
  const db = url.pathname.replace(/^\//, '');
  if (db !== '' && db !== '0') commands.push(['SELECT', db]);
  commands.push(['GET', key]);
  return commands;
}

/** Exit status and the line the kubelet records with it. */
async function probe(mode, env) {
  const workerId = env.ZEUS_WORKER_ID ?? '';
  if (workerId === '') return [1, 'ZEUS_WORKER_ID is not set: the probe cannot find the heartbeat'];
  const prefix = env.ZEUS_REDIS_PREFIX || 'zeus';
  const url = new URL(env.REDIS_URL || 'redis://127.0.0.1:6379');
  const key = `${prefix}:worker:${workerId}`;

  let replies;
  try {
    replies = await ask(url, heartbeatCommands(url, key));
  } catch (error) {
    const reason = `Redis unreachable (${error.message})`;
    return mode === 'live' ? [0, `${reason}: not the worker's fault`] : [1, reason];
  }
  const refused = replies.find((reply) => reply !== null && typeof reply === 'object');
  if (refused !== undefined) {
    const reason = `Redis refused: ${refused.error}`;
    return mode === 'live' ? [0, `${reason}: not the worker's fault`] : [1, reason];
  }
  const heartbeat = replies.at(-1);
  if (heartbeat === null) return [1, `no heartbeat from ${workerId} in the last 15 s`];
  if (mode === 'live') return [0, `${workerId} is beating`];
  let record;
  try {
    record = JSON.parse(heartbeat);
  } catch {
    return [1, `the heartbeat of ${workerId} is not JSON`];
  }
  if (record.modelReady === true) return [0, `${workerId} has its model loaded`];
  // What the worker says it is doing (downloading, converting, loading, failed), when it says.
  const doing = record.modelStatus?.message;
  return [1, `${workerId} is not ready for jobs${typeof doing === 'string' ? `: ${doing}` : ''}`];
}

const mode = process.argv[2];
if (mode !== 'ready' && mode !== 'live') {
  console.error('usage: node worker-probe.mjs ready|live');
  process.exit(2);
}
const [status, message] = await probe(mode, process.env);
(status === 0 ? console.log : console.error)(message);
process.exit(status);
