import type { Command } from 'commander';
import { initEngine } from '../engine/engine.js';
import { UserError } from '../errors.js';
import { JournalWriter } from '../index/journal.js';
import { MediaStore } from '../serve/media.js';
import { createServer } from '../serve/server.js';
import { openCollection } from './search.js';
import { z } from 'zod';
import { flag, num, parseFlags } from './options.js';

const NOT_A_PORT = 'not a port (0-65535; 0 picks a free one)';
const ServeFlagsSchema = z.object({
  host: z.string(),
  port: num(z.number({ error: NOT_A_PORT }).int(NOT_A_PORT).min(0, NOT_A_PORT).max(65535, NOT_A_PORT)),
  token: z.string().optional(),
  run: z.string().optional(),
  database: z.string().optional(),
  log: flag,
});

export function registerServe(program: Command): void {
  program.command('serve <index>')
    .description('serve an index over HTTP: POST /search, items, /health, /metrics, /openapi.json and the search page at /')
    .option('--host <host>', 'address to bind', '127.0.0.1')
    .option('--port <port>', 'port', '8080')
    .option('--token <token>', 'bearer token that allows POST /items and DELETE /items/:id (or XMODAL_TOKEN); none: read-only')
    .option('--run <dir>', 'the run that built the index (default: the one it records)')
    .option('--database <url>', 'serve the index named <index> from this PostgreSQL database (or XMODAL_DATABASE); several services may share it')
    .option('--log', 'log every request (JSON lines)')
    .action(async (dir: string, raw: Record<string, unknown>) => {
      const f = parseFlags(ServeFlagsSchema, raw);
      const port = f.port;
      const token = f.token ?? process.env.XMODAL_TOKEN;
      if (token !== undefined && token.length < 8) throw new UserError('--token: use at least 8 characters');
      await initEngine({ quiet: true });
      const { collection, index, run } = await openCollection(dir, { run: f.run, database: f.database });
      // An embedded index appends each write to its journal and flushes it before acknowledging it
      // (index/journal.ts); a database commits each write's transaction first (index/pgvector.ts).
      const writer = token && index ? await JournalWriter.open(index, dir) : undefined;
      // Texts and thumbnails come from the data set the index was built from (xmodal import media).
      const media = MediaStore.open(collection.manifest.dataset.path);
      const app = createServer({ index: index ?? collection, run, token, logger: f.log, writer, media });
      let address: string;
      try {
        address = await app.listen({ host: f.host, port });
      } catch (error) {
        const e = error as NodeJS.ErrnoException;
        const why = e.code === 'EADDRINUSE' ? 'the port is in use (another xmodal serve? pick another with --port)'
          : e.code === 'EACCES' ? 'permission denied (ports below 1024 need privileges)'
          : e.code === 'EADDRNOTAVAIL' || e.code === 'ENOTFOUND' ? 'no such address on this machine' : (e.code ?? e.message);
        throw new UserError(`cannot listen on ${f.host}:${port}: ${why}`);
      }
      console.log(`xmodal serve: ${await collection.size()} items on ${address} (${token ? 'writable with the bearer token' : 'read-only'}); page at ${address}/`);
      const stop = async () => {
        await app.close();
        process.exit(0);
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
