// The HTTP service (Fastify): search across modalities, items read and written, health, metrics, OpenAPI,
// and the search page at /. Bodies are checked with zod; every error is JSON {error} with the right status.
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { z } from 'zod';
import { UserError } from '../errors.js';
import type { IndexWriter } from '../index/journal.js';
import multipart from '@fastify/multipart';
import { hasImageFeaturizer, hasTextFeaturizer, imageFeatures, modalityFor } from '../index/featurize.js';
import { acceptedInputs, queryVectors } from '../index/query.js';
import { EmbeddedCollection, type Collection } from '../index/collection.js';
import { SearchIndex, type NewItem } from '../index/search-index.js';
import type { EncodingRun } from '../runs/load.js';
import { VERSION } from '../version.js';
import { Metrics } from './metrics.js';
import { PAGE_CSS, PAGE_HTML, PAGE_JS, SECURITY_HEADERS } from './page.js';
import type { MediaStore } from './media.js';
import { AddBodySchema, describeZodError, LIMITS, openApiDocument, SEARCH_BODY_LIMIT, SearchBodySchema, SearchQuerySchema } from './schemas.js';

export interface ServeOptions {
  /** An embedded index (written through `writer`) or any collection (a PostgreSQL one: index/pgvector.ts). */
  index: SearchIndex | Collection;
  run: EncodingRun | undefined;
  /** Bearer token for write endpoints; none: the service is read-only. */
  token?: string | undefined;
  /**
   * For an embedded index: makes accepted writes durable before they are acknowledged (the index's journal:
   * index/journal.ts). Without one, writes change the index in memory only.
   */
  writer?: IndexWriter | undefined;
  bodyLimit?: number;
  logger?: boolean;
  /** Texts and thumbnails of the indexed items (data sets imported from media); none: the media routes 404. */
  media?: MediaStore | undefined;
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
  const index: Collection = o.index instanceof SearchIndex ? new EmbeddedCollection(o.index, o.writer) : o.index;
  app.addHook('onClose', async () => index.close());

  app.addHook('onResponse', async (req, reply) => {
    metrics.observe(req.routeOptions.url ?? 'unknown', req.method, reply.statusCode, reply.elapsedTime / 1000);
  });
  app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, req, reply) => {
    if (error instanceof HttpError) return reply.status(error.status).send({ error: error.message });
    if (error instanceof UserError) return reply.status(400).send({ error: error.message });
    if (error.code === 'FST_REQ_FILE_TOO_LARGE') return reply.status(413).send({ error: `image: over the ${LIMITS.imageBytes}-byte limit` });
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
  app.get('/health', async () => ({ status: 'ok', items: await index.size() }));
  app.get('/info', async () => ({
    items: await index.size(), dim: index.manifest.dim, engine: index.manifest.engine, labels: index.manifest.labelNames,
    dataset: index.manifest.dataset.name, method: index.manifest.run.method,
    modalities: index.manifest.modalities.map((m) => ({ name: m.name, inputDim: m.inputDim, accepts: acceptedInputs(index, m.name), text: Boolean(m.vocabulary) || hasTextFeaturizer(index, m.name), image: hasImageFeaturizer(index, m.name) })),
    writable: Boolean(o.token), encoder: Boolean(o.run), media: o.media?.kinds ?? { image: false, text: false },
  }));
  app.get('/openapi.json', async () => openApiDocument(VERSION));
  app.get('/metrics', async (_req, reply) => {
    const gauges: Record<string, number> = { xmodal_index_items: await index.size() };
    reply.type('text/plain; version=0.0.4').send(metrics.render(gauges));
  });

  /** A base64 or uploaded photo as the raw features of `from`, or a 400 naming the problem. */
  const photoFeatures = async (from: string, bytes: Uint8Array, where: string): Promise<Float32Array> => {
    if (!bytes.length) throw new HttpError(400, `${where}: empty`);
    if (bytes.length > LIMITS.imageBytes) throw new HttpError(413, `${where}: ${bytes.length} bytes, over the ${LIMITS.imageBytes}-byte limit`);
    return imageFeatures(index, from, bytes, where);
  };

  // Room for a base64 photo only where the index takes photos.
  const searchBodyLimit = modalityFor(index, 'image') ? Math.max(o.bodyLimit ?? 1_048_576, SEARCH_BODY_LIMIT) : (o.bodyLimit ?? 1_048_576);
  app.post('/search', { bodyLimit: searchBodyLimit }, async (req) => {
    const body = parse(SearchBodySchema, req.body);
    const queries: Array<z.infer<typeof SearchQuerySchema>> = Array.isArray(body) ? body : [body];
    const results = [];
    for (const [i, q] of queries.entries()) {
      const where = Array.isArray(body) ? `body.${i}.image` : 'body.image';
      if (q.image !== undefined && (q.vector || q.item !== undefined || q.text !== undefined)) throw new HttpError(400, `${where}: give one of vector, item, text or image`);
      const vector = q.image !== undefined ? await photoFeatures(q.from, Buffer.from(q.image, 'base64'), where) : q.vector;
      const [embedded] = await queryVectors(index, o.run, [{ from: q.from, ...(vector ? { vector } : {}), ...(q.item !== undefined ? { item: q.item } : {}), ...(q.text !== undefined ? { text: q.text } : {}), ...(q.features ? { features: q.features } : {}) }]);
      results.push((await index.search(q.to, embedded as Float32Array, { k: q.k, offset: q.offset, ...(q.filter ? { filter: q.filter } : {}), expand: q.expand }))[0]);
    }
    return { results };
  });

  // Multipart uploads for the page's image drop zone and for curl -F; one file, bounded, parsed only here.
  app.register(multipart, { limits: { fileSize: LIMITS.imageBytes, files: 1, fields: 8, fieldSize: 16_384 } });
  app.register(async (scope) => {
    scope.post('/search/image', async (req) => {
      if (!req.isMultipart()) throw new HttpError(400, 'body: send multipart/form-data with a file field "image"');
      const fields: Record<string, string> = {};
      let bytes: Buffer | undefined;
      for await (const part of req.parts()) {
        if (part.type === 'file') {
          if (part.fieldname !== 'image') throw new HttpError(400, `${part.fieldname}: unexpected file field (send the photo as "image")`);
          bytes = await part.toBuffer();
        } else fields[part.fieldname] = String(part.value);
      }
      if (!bytes) throw new HttpError(400, 'image: no file field "image" in the upload');
      const from = fields.from ?? modalityFor(index, 'image');
      if (!from) throw new HttpError(400, 'image: this index has no modality that takes photos');
      let filter: unknown;
      try {
        filter = fields.filter === undefined ? undefined : JSON.parse(fields.filter);
      } catch {
        throw new HttpError(400, 'filter: not valid JSON');
      }
      const q = parse(SearchQuerySchema, { from, to: fields.to, ...(fields.k !== undefined ? { k: Number(fields.k) } : {}), ...(fields.offset !== undefined ? { offset: Number(fields.offset) } : {}), ...(filter !== undefined ? { filter } : {}) });
      const vector = await photoFeatures(q.from, bytes, 'image');
      const [embedded] = await queryVectors(index, o.run, [{ from: q.from, vector }]);
      return { results: [(await index.search(q.to, embedded as Float32Array, { k: q.k, offset: q.offset, ...(q.filter ? { filter: q.filter } : {}) }))[0]] };
    });
  });

  const media = async (req: FastifyRequest) => {
    const id = (req.params as { id: string }).id;
    if (!(await index.item(id))) throw new HttpError(404, `no item '${id}'`);
    return { id, entry: o.media?.entry(id) };
  };
  app.get('/items/:id/media/image', async (req, reply) => {
    const { id } = await media(req);
    const bytes = o.media?.thumbnail(id);
    if (!bytes) throw new HttpError(404, `item '${id}' has no image`);
    return reply.type('image/jpeg').header('cache-control', 'public, max-age=86400').send(bytes);
  });
  app.get('/items/:id/media/text', async (req, reply) => {
    const { id, entry } = await media(req);
    if (!entry?.text) throw new HttpError(404, `item '${id}' has no text`);
    return reply.type('text/plain; charset=utf-8').send(entry.text);
  });

  app.get('/sample', async (req) => {
    const n = parse(z.object({ n: z.coerce.number().int().min(1).max(LIMITS.k).default(6) }).strict(), req.query).n;
    return { items: (await index.sample(n)).map(({ score: _score, ...rest }) => rest) };
  });

  app.get('/items/:id', async (req) => {
    const item = await index.item((req.params as { id: string }).id);
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
    await index.add(prepared);
    return reply.status(201).send({ added: prepared.map((p) => p.id) });
  });

  app.delete('/items/:id', async (req, reply) => {
    requireToken(req);
    const id = (req.params as { id: string }).id;
    if (!(await index.remove(id))) throw new HttpError(404, `no item '${id}'`);
    return reply.status(204).send();
  });
  return app;
}
