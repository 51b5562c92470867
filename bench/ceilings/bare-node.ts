/**
 * Ceiling 1 of the submit benchmark: a bare `node:http` server that reads the request and
 * answers a fixed JSON in the shape of a queued job. Three of them behind Caddy are what Node
 * and Caddy cost on this machine before any GraphQL, validation or Redis.
 *
 *   node --import tsx bench/ceilings/bare-node.ts <port>
 */
import { createServer } from 'node:http';
import { CEILING_ANSWER, listenOn } from './answer.ts';

const body = Buffer.from(JSON.stringify(CEILING_ANSWER));
const server = createServer((request, response) => {
  // The body is read, as every server in the benchmark reads it, then dropped.
  request.resume();
  request.on('end', () => {
    response.writeHead(200, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': body.length,
    });
    response.end(body);
  });
});
listenOn(server, process.argv[2]);
