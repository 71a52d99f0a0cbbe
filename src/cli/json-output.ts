// The shapes of every `--json` output, as zod schemas: the test suite parses real outputs with them (strict
// objects, so an undocumented field fails), and `npm run schemas` writes them as JSON Schemas into
// docs/schemas/, where users read them. One schema, two uses; change a shape here and regenerate.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { SeedsFileSchema } from '../runs/seeds.js';

const numberMap = z.record(z.string(), z.number());
/** JSON has no NaN: a figure that is undefined (no query had a relevant item) is written as null. */
const figure = z.number().nullable();
const figureMap = z.record(z.string(), figure);

/** One direction of an evaluation (`xmodal eval --json`, result.json); fields present as --metric selects. */
export const DirectionResultSchema = z.object({
  conventions: z.record(z.string(), z.union([z.string(), z.boolean()])),
  queries: z.object({ total: z.number().int(), evaluated: z.number().int(), withoutRelevant: z.number().int() }).strict(),
  retrievalSize: z.number().int(),
  mAP: figure.optional(),
  mapAtK: figureMap.optional(),
  precisionAtK: figureMap.optional(),
  ndcgAtK: figureMap.optional(),
  pr11: z.array(figure).optional(),
  prCurve: z.object({ rank: z.array(z.number()), precision: z.array(figure), recall: z.array(figure) }).strict().optional(),
  recallAtK: figureMap.optional(),
  medianRank: figure.optional(),
  meanRank: figure.optional(),
  perClassAP: figureMap.optional(),
}).strict();

/** `xmodal eval --query ... --json` and `xmodal eval --report DIR`'s result.json. */
export const EvalReportSchema = z.object({
  title: z.string(),
  directions: z.record(z.string(), DirectionResultSchema),
  averageMAP: figure.optional(),
}).strict();

/** A trained run's test result: `xmodal eval RUN --json` and RUN/result.json have this one shape. */
export const RunResultSchema = EvalReportSchema.extend({
  /** Transfer runs: R@1 + R@5 + R@10 of both directions, in percent. */
  rSum: z.number().optional(),
  selection: z.string(),
  bestEpoch: z.number().int(),
  /** The selection score of that epoch (mean validation mAP, or rSum); null when none was finite. */
  bestScore: figure,
  split: z.string(),
}).strict();

/** `xmodal search --json`: one array of hits per query, best first. */
export const SearchOutputSchema = z.array(z.array(z.object({
  id: z.string(),
  score: z.number(),
  labels: z.array(z.string()),
  metadata: z.record(z.string(), z.unknown()),
}).strict()));

/** `xmodal info --json`. */
export const InfoOutputSchema = z.object({
  name: z.string(),
  items: z.number().int(),
  modalities: z.array(z.object({ name: z.string(), dim: z.number().int(), missingRate: z.number() }).strict()),
  labels: z.object({ count: z.number().int(), names: z.array(z.string()), perItemMean: z.number(), frequency: numberMap }).strict(),
  cooccurrence: z.object({ pairsSeen: z.number().int(), topPairs: z.array(z.object({ a: z.string(), b: z.string(), items: z.number().int() }).strict()) }).strict(),
  splits: z.record(z.string(), z.object({ items: z.number().int(), labelCounts: numberMap, unlabelled: z.number().int(), missing: numberMap }).strict()),
  synthetic: z.boolean(),
  provenance: z.string(),
}).strict();

/** `xmodal validate --json`. */
export const ValidateOutputSchema = z.object({ problems: z.array(z.string()), warnings: z.array(z.string()) }).strict();

/** `xmodal doctor --json`. */
export const DoctorOutputSchema = z.object({
  node: z.string(),
  nodeOk: z.boolean(),
  backend: z.string(),
  wasmSimd: z.boolean(),
  native: z.object({ loaded: z.boolean(), reason: z.string() }).strict(),
  blas: z.object({ core: z.string(), threads: z.number().int(), blasThreads: z.number().int(), coreType: z.string().optional(), chosenByXmodal: z.boolean() }).strict().optional(),
  matmulCheck: z.object({ ok: z.boolean(), maxError: z.number(), usedNative: z.boolean() }).strict(),
  sgemm: z.object({ shape: z.string(), gflops: z.number(), runs: z.number().int(), seconds: z.number() }).strict(),
  ok: z.boolean(),
}).strict();

const scores = z.object({ metric: z.enum(['mAP', 'rSum']), scores: figureMap, average: figure }).strict();

/** `xmodal train --json`: one of these per line (NDJSON); `event` tells which. */
export const TrainEventSchema = z.discriminatedUnion('event', [
  z.object({
    event: z.literal('start'),
    /** The run's config.json (see docs/training.md). */
    config: z.record(z.string(), z.unknown()),
    trainItems: z.number().int(),
    selectionItems: z.number().int(),
    testItems: z.number().int(),
    startEpoch: z.number().int(),
    /** What the run decided for the user (no test split, incomplete validation items). */
    notes: z.array(z.string()),
  }).strict(),
  z.object({
    event: z.literal('epoch'),
    epochs: z.number().int(),
    best: z.boolean(),
    record: z.object({
      epoch: z.number().int(),
      seconds: z.number(),
      losses: figureMap,
      selection: scores.extend({ split: z.string() }).strict(),
      test: scores.optional(),
      stage: z.string().optional(),
    }).strict(),
  }).strict(),
  z.object({ event: z.literal('refit'), epoch: z.number().int(), epochs: z.number().int(), seconds: z.number(), losses: figureMap, trainItems: z.number().int() }).strict(),
  z.object({
    event: z.literal('done'),
    dir: z.string(),
    bestEpoch: z.number().int(),
    bestScore: figure,
    selection: z.string(),
    /** Test mAP per direction (Recall@K per direction for transfer runs); absent without a test split. */
    test: z.record(z.string(), z.union([figure, figureMap])).optional(),
    rSum: z.number().optional(),
  }).strict(),
  /** The last line of `xmodal train --seeds`: every seed's figures and their mean and standard deviation (seeds.json's summary). */
  z.object({ event: z.literal('seeds'), summary: SeedsFileSchema.shape.summary.unwrap() }).strict(),
]);

export const OUTPUT_SCHEMAS = {
  'train-event': TrainEventSchema,
  'eval-report': EvalReportSchema,
  'run-result': RunResultSchema,
  'search': SearchOutputSchema,
  'info': InfoOutputSchema,
  'validate': ValidateOutputSchema,
  'doctor': DoctorOutputSchema,
} as const;

/** Each schema as JSON Schema text, keyed by file name. */
export function jsonSchemas(): Record<string, string> {
  return Object.fromEntries(Object.entries(OUTPUT_SCHEMAS).map(([name, schema]) => [
    `${name}.schema.json`,
    JSON.stringify({ $id: `xmodal/${name}`, ...z.toJSONSchema(schema, { io: 'output', unrepresentable: 'any' }) }, null, 2) + '\n',
  ]));
}

export function writeSchemas(dir: string): void {
  mkdirSync(dir, { recursive: true });
  for (const [file, text] of Object.entries(jsonSchemas())) writeFileSync(join(dir, file), text);
}
