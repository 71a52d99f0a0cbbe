// Request bodies of the HTTP service: zod gives the runtime checks, the TypeScript types and the OpenAPI schemas.
import { z } from 'zod';
import { QueryExpansionSchema } from '../eval/rerank.js';
import { FilterSchema } from '../index/search-index.js';

export const LIMITS = { k: 100, offset: 10_000, batch: 64, addBatch: 256, imageBytes: 5 * 1024 * 1024 } as const;

/** The body limit of POST /search: room for one base64 photo of LIMITS.imageBytes (4/3 larger) and the rest. */
export const SEARCH_BODY_LIMIT = Math.ceil((LIMITS.imageBytes * 4) / 3) + 65_536;

export const SearchQuerySchema = z.object({
  from: z.string().describe('modality of the query, or "aggregate" (a multi-modal query; methods that aggregate modalities)'),
  to: z.string().describe('modality of the results'),
  vector: z.array(z.number()).optional().describe('raw features of the query modality'),
  item: z.string().optional().describe('an indexed item id as the query'),
  text: z.string().max(10_000).optional().describe('raw text, where the modality has a text featuriser or a vocabulary'),
  image: z.string().max(Math.ceil((LIMITS.imageBytes * 4) / 3) + 4).regex(/^[A-Za-z0-9+/]*={0,2}$/, 'base64 of an image file (no data: prefix)').optional()
    .describe(`a photo as base64 (JPEG, PNG, WebP, ...; at most ${LIMITS.imageBytes} bytes), where the modality has an image featuriser`),
  features: z.record(z.string(), z.array(z.number())).optional().describe('with from "aggregate": modality -> raw features of one query'),
  k: z.number().int().min(1).max(LIMITS.k).default(10),
  offset: z.number().int().min(0).max(LIMITS.offset).default(0),
  filter: FilterSchema.optional(),
  expand: QueryExpansionSchema.optional().describe('query expansion: add weight x the mean of the query\'s n nearest items of `to` and search again (n 0: plain search)'),
}).strict();

export const SearchBodySchema = z.union([SearchQuerySchema, z.array(SearchQuerySchema).min(1).max(LIMITS.batch)]);

export const NewItemSchema = z.object({
  id: z.string().min(1).max(256),
  labels: z.array(z.string()).default([]),
  metadata: z.record(z.string(), z.unknown()).default({}),
  features: z.record(z.string(), z.array(z.number())).describe('modality -> raw features; at least one'),
}).strict();

export const AddBodySchema = z.union([NewItemSchema, z.array(NewItemSchema).min(1).max(LIMITS.addBatch)]);

const HitSchema = z.object({ id: z.string(), score: z.number(), labels: z.array(z.string()), metadata: z.record(z.string(), z.unknown()) });

/** One line naming the field: "body.k: Too big: expected number to be <=100". */
export function describeZodError(error: z.ZodError, where = 'body'): string {
  const issue = error.issues[0];
  const path = issue?.path.length ? `${where}.${issue.path.join('.')}` : where;
  return `${path}: ${issue?.message ?? 'invalid'}`;
}

export function openApiDocument(version: string): Record<string, unknown> {
  const schema = (s: z.ZodType) => z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' });
  const json = (s: z.ZodType) => ({ content: { 'application/json': { schema: schema(s) } } });
  const error = { description: 'error', ...json(z.object({ error: z.string() })) };
  return {
    openapi: '3.1.0',
    info: { title: 'xmodal search service', version },
    paths: {
      '/search': { post: { summary: 'one query or an array of queries (results in the same order)', requestBody: json(SearchBodySchema), responses: { 200: { description: 'hits per query', ...json(z.object({ results: z.array(z.array(HitSchema)) })) }, 400: error, 413: error } } },
      '/search/image': { post: { summary: 'search by an uploaded photo: multipart/form-data with a file field "image" and fields to, from (default: the modality that takes images), k, offset, filter (JSON)', responses: { 200: { description: 'hits', ...json(z.object({ results: z.array(z.array(HitSchema)) })) }, 400: error, 413: error } } },
      '/items/{id}/media/image': { get: { summary: 'the item\'s image thumbnail (JPEG), for items imported from photos', parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }], responses: { 200: { description: 'image/jpeg' }, 404: error } } },
      '/items/{id}/media/text': { get: { summary: 'the item\'s text (text/plain), for items imported from texts', parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }], responses: { 200: { description: 'text/plain' }, 404: error } } },
      '/items/{id}': {
        get: { summary: 'one item', parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }], responses: { 200: { description: 'the item' }, 404: error } },
        delete: { summary: 'remove an item (bearer token)', parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }], responses: { 204: { description: 'removed' }, 401: error, 403: error, 404: error } },
      },
      '/items': { post: { summary: 'add items from raw features (bearer token)', requestBody: json(AddBodySchema), responses: { 201: { description: 'added' }, 400: error, 401: error, 403: error } } },
      '/sample': { get: { summary: 'a few random items to start from', parameters: [{ name: 'n', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: LIMITS.k, default: 6 } }], responses: { 200: { description: '{items: [{id, labels, metadata, modalities}]}' }, 400: error } } },
      '/info': { get: { summary: 'modalities, labels and accepted query inputs', responses: { 200: { description: 'index description' } } } },
      '/health': { get: { summary: 'liveness', responses: { 200: { description: 'ok' } } } },
      '/metrics': { get: { summary: 'Prometheus metrics', responses: { 200: { description: 'text/plain' } } } },
    },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
  };
}
