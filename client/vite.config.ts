/**
 * Builds the web app (index.html) and the GraphQL playground (playground.html) into dist/, which
 * Caddy serves. `npm run dev -w @zeus/client` serves them with hot reload, proxying the API and
 * the videos to a running stack (ZEUS_URL, default http://localhost:8080).
 */
import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { bootScript } from './boot-script.ts';
import { firstVisitBudget } from './first-visit.ts';
import { precompiledDocuments } from './precompiled-documents.ts';

const root = fileURLToPath(new URL('.', import.meta.url));
const api = process.env['ZEUS_URL'] ?? 'http://localhost:8080';

export default defineConfig({
  root,
  // GraphQL documents parsed at build time; the boot script inlined in index.html (it asks for
  // the first screen's data at once); what a first visit to the app downloads, printed, and the
  // build failed over its budget.
  plugins: [precompiledDocuments(), react(), bootScript(), firstVisitBudget('app', 'index.html')],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // GraphiQL's editor (Monaco) is large; it loads only on the playground page.
    chunkSizeWarningLimit: 4_000,
    rolldownOptions: {
      input: {
        app: fileURLToPath(new URL('index.html', import.meta.url)),
        playground: fileURLToPath(new URL('playground.html', import.meta.url)),
      },
      onLog(level, log, handler) {
        // GraphiQL's modules start with React Compiler's "use no memo", meaningless once bundled.
        if (log.code === 'MODULE_LEVEL_DIRECTIVE') return;
        handler(level, log);
      },
    },
  },
  optimizeDeps: {
    // Monaco's workers are imported with `?worker`, which only Vite's own pipeline understands:
    // keep the modules that import them out of dependency pre-bundling (dev server only).
    exclude: ['graphiql/setup-workers/vite', '@graphiql/react/setup-workers/vite'],
  },
  server: {
    proxy: {
      '/graphql': { target: api, ws: true, changeOrigin: true },
      '/generated': { target: api, changeOrigin: true },
      '/uploads': { target: api, changeOrigin: true },
    },
  },
});
