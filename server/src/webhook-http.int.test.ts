/**
 * Webhook requests against a real HTTP server on loopback: what is sent, and the SSRF guard at
 * connection time (an address in the URL, and a name whose DNS answer is private).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postWebhook, WebhookAddressRefused } from './webhook-http.ts';

let server: Server;
let port: number;
const requests: { request: IncomingMessage; body: string }[] = [];

beforeAll(async () => {
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      requests.push({ request, body: Buffer.concat(chunks).toString() });
      if (request.url === '/slow') return; // never answers
      if (request.url === '/redirect') {
        response.writeHead(302, { location: 'http://169.254.169.254/' }).end();
        return;
      }
      response.writeHead(request.url === '/fail' ? 500 : 204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const post = (url: string, allowPrivate: boolean, timeoutMs = 5_000) =>
  postWebhook({
    url,
    body: '{"hello":"world"}',
    headers: { 'Zeus-Webhook-Id': 'job.1' },
    timeoutMs,
    allowPrivate,
  });

describe('postWebhook', () => {
  it('POSTs the JSON body with its headers and returns the status, following no redirect', async () => {
    expect(await post(`http://127.0.0.1:${port}/ok`, true)).toEqual({ status: 204 });
    const last = requests.at(-1);
    expect(last?.request.method).toBe('POST');
    expect(last?.request.headers['content-type']).toBe('application/json');
    expect(last?.request.headers['zeus-webhook-id']).toBe('job.1');
    expect(last?.body).toBe('{"hello":"world"}');
    expect(await post(`http://127.0.0.1:${port}/fail`, true)).toEqual({ status: 500 });
    const before = requests.length;
    expect(await post(`http://127.0.0.1:${port}/redirect`, true)).toEqual({ status: 302 });
    expect(requests.length).toBe(before + 1);
  });

  it('refuses loopback unless allowed, by address and by name, before sending anything', async () => {
    const before = requests.length;
    await expect(post(`http://127.0.0.1:${port}/ok`, false)).rejects.toBeInstanceOf(
      WebhookAddressRefused,
    );
    // localhost resolves to a loopback address: refused at the lookup the connection uses.
    await expect(post(`http://localhost:${port}/ok`, false)).rejects.toThrow(
      /Refused to send to localhost: .*loopback/,
    );
    await expect(post(`http://[::ffff:127.0.0.1]:${port}/ok`, false)).rejects.toThrow(/loopback/);
    expect(requests.length).toBe(before);
    expect(await post(`http://localhost:${port}/ok`, true)).toEqual({ status: 204 });
  });

  it('gives up on a receiver that does not answer in time', async () => {
    await expect(post(`http://127.0.0.1:${port}/slow`, true, 300)).rejects.toThrow(
      'No answer within 300 ms.',
    );
  });
});
