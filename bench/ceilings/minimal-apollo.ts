/**
 * Ceiling 2 of the submit benchmark: Apollo Server 5 at its leanest on `node:http`, no Express:
 * the request body is read and parsed, handed to `executeHTTPGraphQLRequest`, and Apollo's
 * answer written back. The schema is Zeus's own (the same `submitPrompt(input: PromptInput!)`,
 * parsed and validated the same way), and the mutation answers a constant job: no Redis, no
 * Zeus validation, no logging. Three of them behind Caddy are the most an Apollo-based front
 * door can take on this machine.
 *
 *   node --import tsx bench/ceilings/minimal-apollo.ts <port>
 */
import { createServer, type IncomingMessage } from 'node:http';
import { ApolloServer, HeaderMap } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { typeDefs } from '@zeus/schema';
import { CEILING_JOB, listenOn } from './answer.ts';

const apollo = new ApolloServer({
  typeDefs,
  resolvers: { Mutation: { submitPrompt: () => CEILING_JOB } },
  includeStacktraceInErrorResponses: false,
  plugins: [ApolloServerPluginLandingPageDisabled()],
});
await apollo.start();

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const server = createServer((request, response) => {
  void (async () => {
    const headers = new HeaderMap();
    for (const [name, value] of Object.entries(request.headers)) {
      if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
    const text = await readBody(request);
    const url = new URL(request.url ?? '/', 'http://localhost');
    const answer = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: {
        method: request.method?.toUpperCase() ?? 'POST',
        headers,
        search: url.search,
        body: text === '' ? undefined : (JSON.parse(text) as unknown),
      },
      context: () => Promise.resolve({}),
    });
    for (const [name, value] of answer.headers) response.setHeader(name, value);
    response.statusCode = answer.status ?? 200;
    if (answer.body.kind === 'complete') {
      response.end(answer.body.string);
    } else {
      for await (const chunk of answer.body.asyncIterator) response.write(chunk);
      response.end();
    }
  })().catch((error: unknown) => {
    response.statusCode = 500;
    response.end(String(error));
  });
});
listenOn(server, process.argv[2]);
