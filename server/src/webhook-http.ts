/**
 * The one place Zeus sends HTTP requests to users' webhooks. Every address the request would go
 * to is checked at connection time (webhookAddressProblem): an address written in the URL
 * before connecting, a host name's addresses as DNS answers them, in the same lookup the
 * connection uses, so a name that resolves to a private address (or changes to one after the
 * submission was checked, DNS rebinding) is refused. Redirects are not followed: a 3xx answer is
 * a failed delivery.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { isIP } from 'node:net';
import { webhookAddressProblem } from '@zeus/core';

/** The webhook's address is one Zeus may not send to: trying again cannot help. */
export class WebhookAddressRefused extends Error {
  override readonly name = 'WebhookAddressRefused';
}

export interface WebhookPost {
  readonly url: string;
  readonly body: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  readonly allowPrivate: boolean;
}

/** What the receiver answered. */
export interface WebhookAnswer {
  readonly status: number;
}

/** The most of an answer's body read (and thrown away). */
const MAX_ANSWER_BYTES = 64 * 1024;

/**
 * POSTs `body` as JSON. Resolves with the receiver's status, whatever it is; rejects when there
 * is no answer (refused address, DNS, connection, timeout).
 */
export async function postWebhook(post: WebhookPost): Promise<WebhookAnswer> {
  const url = new URL(post.url);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (isIP(host) !== 0) {
    const problem = webhookAddressProblem(host, post.allowPrivate);
    if (problem !== null) throw new WebhookAddressRefused(`Refused to send to ${problem}.`);
  }
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<WebhookAnswer>((resolve, reject) => {
    const request = send(
      url,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(post.body)),
          'user-agent': 'Zeus-Webhooks/1',
          ...post.headers,
        },
        lookup: guardedLookup(post.allowPrivate),
        signal: AbortSignal.timeout(post.timeoutMs),
      },
      (response: IncomingMessage) => {
        let received = 0;
        response.on('data', (chunk: Buffer) => {
          received += chunk.length;
          if (received > MAX_ANSWER_BYTES) response.destroy();
        });
        response.on('close', () => {
          resolve({ status: response.statusCode ?? 0 });
        });
        response.on('error', () => {
          resolve({ status: response.statusCode ?? 0 });
        });
      },
    );
    request.on('error', (error: Error) => {
      reject(
        error.name === 'AbortError' || error.name === 'TimeoutError'
          ? new Error(`No answer within ${post.timeoutMs} ms.`)
          : error,
      );
    });
    request.end(post.body);
  });
}

/** dns.lookup, refusing a name when any of its addresses is not one webhooks may reach. */
function guardedLookup(allowPrivate: boolean): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
      if (error !== null) {
        callback(error, '', 0);
        return;
      }
      for (const { address } of addresses) {
        const problem = webhookAddressProblem(address, allowPrivate);
        if (problem !== null) {
          callback(new WebhookAddressRefused(`Refused to send to ${hostname}: ${problem}.`), '', 0);
          return;
        }
      }
      if (options.all === true) {
        callback(null, addresses);
        return;
      }
      const first = addresses[0];
      if (first === undefined) {
        callback(new Error(`${hostname} has no address.`), '', 0);
        return;
      }
      callback(null, first.address, first.family);
    });
  };
}
