// The HTTP service (Fastify): search across modalities, items read and written, health, metrics, OpenAPI,
// and the search page at /. Bodies are checked with zod; every error is JSON {error} with the right status.
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { z } from 'zod';
import { UserError } from '../errors.js';
import type { IndexWriter } from '../index/journal.js';
import { acceptedInputs, queryVectors } from '../index/query.js';
import type { NewItem, SearchIndex } from '../index/search-index.js';
import type { EncodingRun } from '../runs/load.js';
import { VERSION } from '../version.js';
import { Metrics } from './metrics.js';
import { PAGE_CSS, PAGE_HTML, PAGE_JS, SECURITY_HEADERS } from './page.js';
import { AddBodySchema, describeZodError, openApiDocument, SearchBodySchema, type SearchQuerySchema } from './schemas.js';

export interface ServeOptions {
  index: SearchIndex;
  run: EncodingRun | undefined;
  /** Bearer token for write endpoints; none: the service is read-only. */
  token?: string | undefined;
  /**
   * Makes accepted writes durable before they are acknowledged (the index's journal: index/journal.ts). Without
   * one, writes change the index in memory only.
   */
  writer?: IndexWriter | undefined;
  bodyLimit?: number;
  logger?: boolean;
}

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const r = schema.safeParse(body);
  if (!r.success) throw new HttpError(400, describeZodError(r.error));
  return r.data;
}

export function createServer(o: ServeOptions): FastifyInstance {
  const app = Fastify({ logger: o.logger ?? false, bodyLimit: o.bodyLimit ?? 1_048_576 });
  const metrics = new Metrics();
  const { index } = o;
  const writer: IndexWriter = o.writer ?? { add: async (items) => index.add(items), remove: async (id) => index.remove(id), close: async () => {} };
  app.addHook('onClose', async () => writer.close());

  app.addHook('onResponse', async (req, reply) => {
    metrics.observe(req.routeOptions.url ?? 'unknown', req.method, reply.statusCode, reply.elapsedTime / 1000);
  });
  app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, req, reply) => {
    if (error instanceof HttpError) return reply.status(error.status).send({ error: error.message });
    if (error instanceof UserError) return reply.status(400).send({ error: error.message });
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return reply.status(413).send({ error: `body over the ${o.bodyLimit ?? 1_048_576}-byte limit` });
    if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) return reply.status(error.statusCode).send({ error: error.message });
    const id = randomUUID();
    req.log.error({ err: error, errorId: id }, 'internal error');
    if (!o.logger) console.error(`xmodal serve: internal error ${id}: ${error.stack ?? error.message}`);
    return reply.status(500).send({ error: `internal error ${id}` });
  });
  app.setNotFoundHandler((req, reply) => reply.status(404).send({ error: `no route ${req.method} ${req.url}` }));

  const requireToken = (req: FastifyRequest) => {
    if (!o.token) throw new HttpError(403, 'the service is read-only (start it with --token or XMODAL_TOKEN to allow writes)');
    if (req.headers.authorization !== `Bearer ${o.token}`) throw new HttpError(401, 'missing or wrong bearer token');
  };

  app.addHook('onSend', async (_req, reply, payload) => {
    reply.headers(SECURITY_HEADERS);
    return payload;
  });
  app.get('/', async (_req, reply) => reply.type('text/html; charset=utf-8').send(PAGE_HTML));
  app.get('/app.js', async (_req, reply) => reply.type('text/javascript; charset=utf-8').send(PAGE_JS));
  app.get('/app.css', async (_req, reply) => reply.type('text/css; charset=utf-8').send(PAGE_CSS));
  app.get('/health', async () => ({ status: 'ok', items: index.size }));
  app.get('/info', async () => ({
    items: index.size, dim: index.manifest.dim, engine: index.manifest.engine, labels: index.manifest.labelNames,
    dataset: index.manifest.dataset.name, method: index.manifest.run.method,
    modalities: index.manifest.modalities.map((m) => ({ name: m.name, inputDim: m.inputDim, accepts: acceptedInputs(index, m.name), text: Boolean(m.vocabulary) })),
    writable: Boolean(o.token), encoder: Boolean(o.run),
  }));
  app.get('/openapi.json', async () => openApiDocument(VERSION));
  app.get('/metrics', async (_req, reply) => {
    const gauges: Record<string, number> = { xmodal_index_items: index.size };
    reply.type('text/plain; version=0.0.4').send(metrics.render(gauges));
  });

  app.post('/search', async (req) => {
    const body = parse(SearchBodySchema, req.body);
    const queries: Array<z.infer<typeof SearchQuerySchema>> = Array.isArray(body) ? body : [body];
    const results = queries.map((q) => {
      const [vector] = queryVectors(index, o.run, [{ from: q.from, ...(q.vector ? { vector: q.vector } : {}), ...(q.item !== undefined ? { item: q.item } : {}), ...(q.text !== undefined ? { text: q.text } : {}), ...(q.features ? { features: q.features } : {}) }]);
      return index.search(q.to, vector as Float32Array, { k: q.k, offset: q.offset, ...(q.filter ? { filter: q.filter } : {}), expand: q.expand })[0];
    });
    return { results };
  });

  app.get('/items/:id', async (req) => {
    const item = index.item((req.params as { id: string }).id);
    if (!item) throw new HttpError(404, `no item '${(req.params as { id: string }).id}'`);
    const { score: _score, ...rest } = item;
    return rest;
  });

  app.post('/items', async (req, reply: FastifyReply) => {
    requireToken(req);
    if (!o.run) throw new HttpError(409, 'adding items needs the run that built the index (its encoders)');
    const body = parse(AddBodySchema, req.body);
    const items = Array.isArray(body) ? body : [body];
    const prepared: NewItem[] = items.map((item, i) => {
      const embeddings: Record<string, Float32Array> = {};
      const modalities = Object.keys(item.features);
      if (!modalities.length) throw new HttpError(400, `body${Array.isArray(body) ? `.${i}` : ''}.features: give at least one modality`);
      for (const m of modalities) {
        const spec = index.manifest.modalities.find((x) => x.name === m);
        if (!spec) throw new HttpError(400, `features.${m}: no modality '${m}' in this index (modalities: ${index.modalities.join(', ')})`);
        const raw = Float32Array.from(item.features[m] as number[]);
        if (raw.length !== spec.inputDim) throw new HttpError(400, `features.${m}: ${raw.length} values, the encoder takes ${spec.inputDim}`);
        embeddings[m] = o.run!.encoder.embed(m, raw, spec.inputDim)[0] as Float32Array;
      }
      return { id: item.id, labels: item.labels, metadata: item.metadata, embeddings };
    });
    await writer.add(prepared);
    return reply.status(201).send({ added: prepared.map((p) => p.id) });
  });

  app.delete('/items/:id', async (req, reply) => {
    requireToken(req);
    const id = (req.params as { id: string }).id;
    if (!(await writer.remove(id))) throw new HttpError(404, `no item '${id}'`);
    return reply.status(204).send();
  });
  return app;
}
