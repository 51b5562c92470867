/**
 * Webhooks, the pure part: which job changes make an event, what is POSTed, how it is signed,
 * and which addresses may receive it. Delivery (the queue, HTTP) is the server's
 * (server/src/webhook-dispatcher.ts); the event itself is written by the job store in the same
 * atomic step as the change it reports (job-store.ts), so no change is left without its event.
 *
 * Signature: `Zeus-Webhook-Signature: v1=<hex>`, the HMAC-SHA256 of
 * `<Zeus-Webhook-Timestamp> + "." + <raw body>` with the job's owner's secret (`webhookSecretFor`:
 * one per API key, so no tenant can sign what another's receiver accepts); the timestamp is in
 * Unix seconds.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import ipaddr from 'ipaddr.js';
import type { FieldProblem } from './errors.ts';
import { isFinalStatus, type Job, type JobWebhook, type WebhookEventSet } from './job.ts';

/** HTTP headers of a delivery (case does not matter to HTTP). */
export const WEBHOOK_HEADERS = {
  /** The event's id, the same on every attempt: receivers drop ids they have seen. */
  id: 'Zeus-Webhook-Id',
  /** Unix seconds when this attempt was signed. */
  timestamp: 'Zeus-Webhook-Timestamp',
  /** `v1=` and the hex HMAC-SHA256 of `timestamp + "." + body`. */
  signature: 'Zeus-Webhook-Signature',
  /** The event's type, as in the body. */
  event: 'Zeus-Webhook-Event',
} as const;

export type WebhookEventType = 'job.stage' | 'job.succeeded' | 'job.failed' | 'job.cancelled';

/** The job as a webhook shows it: what its owner may see, nothing internal. */
export interface WebhookJob {
  readonly id: string;
  readonly status: Job['status'];
  readonly stage: Job['stage'];
  readonly progress: number;
  readonly step: number;
  readonly totalSteps: number;
  readonly videoUrl: string | null;
  readonly error: Job['error'];
  readonly settings: Job['settings'];
  readonly model: string;
  readonly priority: number;
  readonly retryOf: string | null;
  readonly batchId: string | null;
  readonly attempts: number;
  readonly createdAt: string;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
  readonly updatedAt: string;
}

/** One event to deliver: the body POSTed is `JSON.stringify(event)`. */
export interface WebhookEvent {
  /** `<job id>.<job version>`: unique per change, stable across attempts. */
  readonly id: string;
  readonly type: WebhookEventType;
  /** When the change happened (the job's `updatedAt`). */
  readonly createdAt: string;
  readonly job: WebhookJob;
}

/** A queued delivery: the event, where it goes, and whose secret signs it. */
export interface WebhookDeliveryRequest {
  readonly url: string;
  /**
   * The job's owner (its API key's name), whose secret signs the event; null for a job of no
   * key. Absent in events queued by an older version: the job is read for it.
   */
  readonly owner?: string | null;
  readonly event: WebhookEvent;
}

/** One attempt to deliver an event, as recorded on the job. */
export interface WebhookDelivery {
  readonly eventId: string;
  readonly type: WebhookEventType;
  /** 1 for the first try. */
  readonly attempt: number;
  /** The receiver's HTTP status; null when it did not answer. */
  readonly status: number | null;
  /** True for a 2xx answer: no more attempts. */
  readonly ok: boolean;
  readonly at: string;
  /** Why it failed, in words; null when it succeeded. */
  readonly error: string | null;
}

/**
 * The event a change of job makes, or null: the final state always, and with `STAGES` every
 * change of stage too (a retried attempt going back to LOADING_MODEL included). Progress within
 * a stage makes none.
 */
export function webhookEventFor(previous: Job, next: Job): WebhookEvent | null {
  const webhook = next.webhook ?? null;
  if (webhook === null) return null;
  let type: WebhookEventType | null = null;
  if (isFinalStatus(next.status) && !isFinalStatus(previous.status)) {
    type =
      next.status === 'SUCCEEDED'
        ? 'job.succeeded'
        : next.status === 'FAILED'
          ? 'job.failed'
          : 'job.cancelled';
  } else if (
    webhook.events === 'STAGES' &&
    (next.stage !== previous.stage || next.attempts !== previous.attempts)
  ) {
    type = 'job.stage';
  }
  if (type === null) return null;
  return {
    id: `${next.id}.${next.version}`,
    type,
    createdAt: next.updatedAt,
    job: webhookJob(next),
  };
}

function webhookJob(job: Job): WebhookJob {
  return {
    id: job.id,
    status: job.status,
    stage: job.stage,
    progress: job.progress,
    step: job.step,
    totalSteps: job.totalSteps,
    videoUrl: job.videoUrl,
    error: job.error,
    settings: job.settings,
    model: job.model,
    priority: job.priority ?? 0,
    retryOf: job.retryOf ?? null,
    batchId: job.batchId ?? null,
    attempts: job.attempts,
    createdAt: job.createdAt,
    startedAt: job.startedAt,
    finishedAt: job.finishedAt,
    updatedAt: job.updatedAt,
  };
}

/**
 * The secret webhooks of `owner`'s jobs are signed with: the hex HMAC-SHA256 of the API key's
 * name keyed with `ZEUS_WEBHOOK_SECRET`, so each tenant holds its own (the API tells a key its
 * own: `Query.webhookSecret`) and cannot sign events for another's receiver, nor make Zeus sign
 * its events with another's secret. Jobs of no key (keys off) are signed with
 * `ZEUS_WEBHOOK_SECRET` itself, which the operator holds.
 */
export function webhookSecretFor(secret: string, owner: string | null): string {
  if (owner === null) return secret;
  return createHmac('sha256', secret).update(`zeus-webhook:${owner}`, 'utf8').digest('hex');
}

/** `v1=<hex HMAC-SHA256 of "<timestamp>.<body>">`. */
export function signWebhook(secret: string, timestampSeconds: number, body: string): string {
  const mac = createHmac('sha256', secret).update(`${timestampSeconds}.${body}`, 'utf8');
  return `v1=${mac.digest('hex')}`;
}

/**
 * What a receiver does: true when `signature` is `body`'s with `secret`, and `timestamp` is
 * within `toleranceSeconds` of `nowSeconds` (a replayed old delivery is refused).
 */
export function verifyWebhook(options: {
  readonly secret: string;
  readonly body: string;
  readonly timestamp: string;
  readonly signature: string;
  readonly nowSeconds?: number;
  readonly toleranceSeconds?: number;
}): boolean {
  const timestamp = Number(options.timestamp);
  if (!/^\d{1,12}$/.test(options.timestamp)) return false;
  const now = options.nowSeconds ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - timestamp) > (options.toleranceSeconds ?? 300)) return false;
  const expected = Buffer.from(signWebhook(options.secret, timestamp, options.body));
  const given = Buffer.from(options.signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** The longest webhook URL accepted. */
export const MAX_WEBHOOK_URL_LENGTH = 2_048;

/**
 * Why an address may not receive webhooks, or null when it may. Only public unicast addresses
 * may, unless `allowPrivate`: loopback, private, link-local (cloud metadata services live
 * there), carrier-grade NAT, multicast, reserved and unspecified addresses are refused, IPv4
 * mapped into IPv6 included.
 */
export function webhookAddressProblem(address: string, allowPrivate: boolean): string | null {
  if (!ipaddr.isValid(address)) return `${address} is not an IP address`;
  const parsed = ipaddr.process(address);
  const range = parsed.range();
  if (range === 'unicast' || allowPrivate) return null;
  return `${parsed.toString()} is a ${range} address`;
}

/**
 * Checks a `webhookUrl` as given: http or https, no credentials, a host, not too long, and (for
 * an address written in the URL, or `localhost`) a public address unless `allowPrivate`. Names
 * are checked again when delivering, against every address they resolve to.
 */
export function checkWebhookUrl(
  text: string,
  options: { readonly allowPrivate: boolean },
): { readonly url: string } | { readonly problem: FieldProblem } {
  const refuse = (rule: string, message: string): { problem: FieldProblem } => ({
    problem: { field: 'webhookUrl', rule, message },
  });
  if (text.length > MAX_WEBHOOK_URL_LENGTH) {
    return refuse('maxLength', `webhookUrl must be at most ${MAX_WEBHOOK_URL_LENGTH} characters.`);
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return refuse('url', 'webhookUrl must be an absolute http:// or https:// URL.');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return refuse(
      'url',
      `webhookUrl must be an http:// or https:// URL (got ${url.protocol.slice(0, -1)}).`,
    );
  }
  if (url.username !== '' || url.password !== '') {
    return refuse(
      'url',
      'webhookUrl must not contain a user name or password: verify the signature instead.',
    );
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') return refuse('url', 'webhookUrl must name a host.');
  if (!options.allowPrivate) {
    const isLocalName = host === 'localhost' || host.endsWith('.localhost');
    const problem = isLocalName
      ? `${host} is a loopback name`
      : ipaddr.isValid(host)
        ? webhookAddressProblem(host, false)
        : null;
    if (problem !== null) {
      return refuse(
        'publicAddress',
        `webhookUrl must reach a public address: ${problem} (the operator can allow private ` +
          'addresses with ZEUS_WEBHOOK_ALLOW_PRIVATE).',
      );
    }
  }
  return { url: url.href };
}

/** A job's webhook from the submitted URL and event set (default `FINAL`). */
export function jobWebhook(url: string, events: WebhookEventSet | null | undefined): JobWebhook {
  return { url, events: events ?? 'FINAL' };
}
