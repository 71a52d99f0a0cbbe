import type { Command } from 'commander';
import { initEngine } from '../engine/engine.js';
import { UserError } from '../errors.js';
import { createServer } from '../serve/server.js';
import { openIndex } from './search.js';
import { positiveInt } from './options.js';

export function registerServe(program: Command): void {
  program.command('serve <index>')
    .description('serve an index over HTTP: POST /search, items, /health, /metrics, /openapi.json and the search page at /')
    .option('--host <host>', 'address to bind', '127.0.0.1')
    .option('--port <port>', 'port', '8080')
    .option('--token <token>', 'bearer token that allows POST /items and DELETE /items/:id (or XMODAL_TOKEN); none: read-only')
    .option('--run <dir>', 'the run that built the index (default: the one it records)')
    .option('--log', 'log every request (JSON lines)')
    .action(async (dir: string, f: { host: string; port: string; token?: string; run?: string; log?: boolean }) => {
      await initEngine({ quiet: true });
      const { index, run } = await openIndex(dir, f.run);
      const token = f.token ?? process.env.XMODAL_TOKEN;
      if (token !== undefined && token.length < 8) throw new UserError('--token: use at least 8 characters');
      const app = createServer({ index, run, token, logger: f.log ?? false, onWrite: () => index.save(dir, true) });
      const address = await app.listen({ host: f.host, port: positiveInt('--port', f.port) });
      console.log(`xmodal serve: ${index.size} items on ${address} (${token ? 'writable with the bearer token' : 'read-only'}); page at ${address}/`);
      const stop = async () => {
        await app.close();
        process.exit(0);
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
