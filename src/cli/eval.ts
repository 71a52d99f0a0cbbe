// xmodal eval: score any model's embeddings with the papers' protocol, or compare saved results.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { readMatrix, toMultiHot, type Matrix } from '../data/formats/matrix.js';
import { parseLabelNames } from '../data/importers/arrays.js';
import { UserError } from '../errors.js';
import { evaluateRetrieval } from '../eval/metrics.js';
import { groupRelevance, labelRelevance } from '../eval/relevance.js';
import { comparisonTable, markdownTable, runResult, METRICS, serializeReport, writeReport, type MetricName, type SerializedReport } from '../eval/report.js';
import type { Matrix32 } from '../eval/similarity.js';
import { evaluateFully } from '../train/evaluate.js';
import { loadRun } from '../runs/load.js';
import { loadSplit } from '../train/split-data.js';
import { flag, kReciprocalFlag, parseFlags, queryExpansionFlag } from './options.js';

const intList = z.string().transform((s, ctx) => {
  const values = s.split(',').map((x) => Number(x.trim()));
  if (values.some((v) => !Number.isInteger(v) || v < 1)) {
    ctx.addIssue({ code: 'custom', message: `'${s}' is not a list of positive integers` });
    return z.NEVER;
  }
  return values;
});

const EvalOptions = z.object({
  query: z.string().optional(),
  retrieval: z.string().optional(),
  queryLabels: z.string().optional(),
  retrievalLabels: z.string().optional(),
  queryGroups: z.string().optional(),
  retrievalGroups: z.string().optional(),
  labelNames: z.string().optional(),
  distance: z.enum(['cosine', 'dot', 'euclidean']),
  k: intList,
  recallK: intList,
  mapAtKDenominator: z.enum(['retrieved', 'min-k-r']),
  excludePaired: flag,
  metric: z.string().transform((s, ctx) => {
    const names = s.split(',').map((x) => x.trim()).filter(Boolean);
    const bad = names.filter((n) => !(METRICS as readonly string[]).includes(n));
    if (bad.length) {
      ctx.addIssue({ code: 'custom', message: `unknown metric ${bad.join(', ')} (metrics: ${METRICS.join(', ')})` });
      return z.NEVER;
    }
    return names as MetricName[];
  }),
  json: flag,
  report: z.string().optional(),
  force: flag,
  title: z.string().optional(),
  compare: z.array(z.string()).optional(),
  split: z.string().default('test'),
  queryExpansion: queryExpansionFlag.optional(),
  databaseAugmentation: queryExpansionFlag.optional(),
  kReciprocal: kReciprocalFlag.optional(),
  data: z.string().optional(),
});
type EvalOptions = z.infer<typeof EvalOptions>;

function toF32(m: Matrix): Matrix32 {
  return { rows: m.rows, cols: m.cols, data: m.values instanceof Float32Array ? m.values : Float32Array.from(m.values) };
}

function loadReport(path: string): { name: string; report: SerializedReport } {
  const file = existsSync(path) && statSync(path).isDirectory() ? join(path, 'result.json') : path;
  if (!existsSync(file)) throw new UserError(`${file}: no such file (give result.json files or report directories)`);
  try {
    const report = JSON.parse(readFileSync(file, 'utf8')) as SerializedReport;
    if (!report.directions || typeof report.directions !== 'object') throw new Error('no "directions"');
    const name = file.endsWith('result.json') ? basename(dirname(file)) : basename(file, '.json');
    return { name, report };
  } catch (error) {
    throw new UserError(`${file}: not an xmodal evaluation result: ${(error as Error).message}`);
  }
}

/** A trained run: embed a split of its data set with the selected model and evaluate both directions. */
async function evaluateRun(dir: string, o: EvalOptions): Promise<void> {
  const loaded = await loadRun(dir, o.data);
  const { dataset, method } = loaded;
  // Transfer runs are scored on their items' own pairs (Recall@K, rSum), every other run by shared labels.
  const instances = Boolean(loaded.config.targetDataset);
  if (instances && (o.queryExpansion || o.databaseAugmentation || o.kReciprocal)) throw new UserError(`${o.queryExpansion ? '--query-expansion' : o.databaseAugmentation ? '--database-augmentation' : '--k-reciprocal'}: a transfer run is scored on its own pairs (instance protocol); re-ranking applies to the label protocol`);
  // A run selected on a validation split carved from train: --split val is those items (config.json records them).
  const carve = o.split === 'val' && !dataset.splitNames.includes('val') && !o.data && loaded.config.valItems;
  const indices = carve ? Int32Array.from(carve) : dataset.split(o.split);
  const split = loadSplit(dataset, indices, method.modalities, { complete: instances });
  const settings = { distance: o.distance, ks: o.k, recallKs: o.recallK, mapAtKDenominator: o.mapAtKDenominator, queryExpansion: o.queryExpansion, databaseAugmentation: o.databaseAugmentation, kReciprocal: o.kReciprocal };
  const result = await evaluateFully(method, split, dataset.labelNames, instances ? 'instances' : 'labels', settings);
  const rSum = result.rSum !== undefined ? `, rSum ${result.rSum.toFixed(1)} (instance-level: each item's own pair is the match)` : '';
  const expansion = (o.databaseAugmentation ? `, database augmentation n ${o.databaseAugmentation.n} weight ${o.databaseAugmentation.weight}` : '') +
    (o.queryExpansion ? `, query expansion n ${o.queryExpansion.n} weight ${o.queryExpansion.weight}` : '') +
    (o.kReciprocal ? `, k-reciprocal re-ranking k1 ${o.kReciprocal.k1} k2 ${o.kReciprocal.k2} lambda ${o.kReciprocal.lambda}` : '');
  const title = `${loaded.config.method} (${basename(dir)}) on ${dataset.name}, ${o.split} split${carve ? ' (carved from train: the items the model was selected on)' : ''}${expansion}; epoch ${loaded.bestEpoch} selected by ${loaded.config.selection}${rSum}`;
  const report = serializeReport({ title, directions: result.directions, ...(instances ? {} : { averageMAP: result.averageMAP }) }, o.metric);
  if (o.report) {
    const files = await writeReport(o.report, report, o.metric, o.force);
    console.error(`wrote ${o.report}: ${files.join(', ')}`);
  }
  // The same shape as the run's result.json.
  const full = runResult(report, { rSum: result.rSum, selection: loaded.config.selection, bestEpoch: loaded.bestEpoch, bestScore: loaded.bestScore, split: o.split });
  console.log(o.json ? JSON.stringify(full, null, 2) : `${title}\n\n${markdownTable(report, o.metric)}`);
  loaded.method.dispose();
}

async function run(o: EvalOptions, runDir: string | undefined): Promise<void> {
  if (runDir) return evaluateRun(runDir, o);
  if (o.compare) {
    console.log(comparisonTable(o.compare.map(loadReport)));
    return;
  }
  if (!o.query || !o.retrieval) throw new UserError('give --query and --retrieval embeddings (or --compare RESULT...)');
  const query = await readMatrix(o.query);
  const retrieval = await readMatrix(o.retrieval);
  if (query.cols !== retrieval.cols) throw new UserError(`${query.source}: ${query.cols}-d, but ${retrieval.source} is ${retrieval.cols}-d`);
  let relevance;
  let perClass;
  const instance = Boolean(o.queryGroups || o.retrievalGroups);
  if (instance) {
    if (!o.queryGroups || !o.retrievalGroups) throw new UserError('instance-level evaluation needs both --query-groups and --retrieval-groups');
    const qg = await readMatrix(o.queryGroups);
    const rg = await readMatrix(o.retrievalGroups);
    if (qg.rows * qg.cols !== query.rows) throw new UserError(`${qg.source}: ${qg.rows * qg.cols} group ids for ${query.rows} queries`);
    if (rg.rows * rg.cols !== retrieval.rows) throw new UserError(`${rg.source}: ${rg.rows * rg.cols} group ids for ${retrieval.rows} items`);
    relevance = groupRelevance(qg.values, rg.values);
  } else {
    if (!o.queryLabels || !o.retrievalLabels) throw new UserError('give --query-labels and --retrieval-labels (or --query-groups and --retrieval-groups for instance-level retrieval)');
    const ql = await readMatrix(o.queryLabels);
    const rl = await readMatrix(o.retrievalLabels);
    if (ql.rows !== query.rows) throw new UserError(`${ql.source}: ${ql.rows} label rows for ${query.rows} queries`);
    if (rl.rows !== retrieval.rows) throw new UserError(`${rl.source}: ${rl.rows} label rows for ${retrieval.rows} items`);
    // Class-index columns of both files must share one numbering.
    const largest = (m: Matrix) => { let x = 0; for (const v of m.values) x = Math.max(x, v); return x; };
    const classes = ql.cols === 1 && rl.cols === 1 ? Math.max(largest(ql), largest(rl)) + 1 : undefined;
    const qh = toMultiHot(ql, classes, classes ? 0 : undefined);
    const rh = toMultiHot(rl, classes, classes ? 0 : undefined);
    if (qh.classes !== rh.classes) throw new UserError(`${ql.source} has ${qh.classes} labels, ${rl.source} has ${rh.classes}`);
    const names = o.labelNames ? parseLabelNames(o.labelNames) : Array.from({ length: qh.classes }, (_, i) => `label${i}`);
    if (names.length !== qh.classes) throw new UserError(`--label-names: ${names.length} names for ${qh.classes} labels`);
    relevance = labelRelevance(qh.data, rh.data, qh.classes);
    perClass = { labels: qh.data, classes: qh.classes, names };
  }
  if (o.excludePaired && query.rows !== retrieval.rows) throw new UserError('--exclude-paired needs as many queries as retrieval items (query i is paired with item i)');
  const result = await evaluateRetrieval(toF32(query), toF32(retrieval), relevance, {
    distance: o.distance,
    ks: o.k,
    recallKs: o.recallK,
    mapAtKDenominator: o.mapAtKDenominator,
    ...(o.excludePaired ? { exclude: Int32Array.from({ length: query.rows }, (_, i) => i) } : {}),
    ...(perClass ? { perClass } : {}),
  });
  const metrics = instance && o.metric.length === METRICS.length ? (['recall@k', 'map'] as MetricName[]) : o.metric;
  const report = serializeReport({ title: o.title ?? `${basename(query.source)} -> ${basename(retrieval.source)}`, directions: { 'query->retrieval': result } }, metrics);
  if (o.report) {
    const files = await writeReport(o.report, report, metrics, o.force);
    console.error(`wrote ${o.report}: ${files.join(', ')}`);
  }
  console.log(o.json ? JSON.stringify(report, null, 2) : markdownTable(report, metrics));
}

export function registerEval(program: Command): void {
  program.command('eval')
    .argument('[run]', 'a trained run directory: evaluate its selected model on --split of its data set')
    .description('score a trained run or raw embeddings with the papers\' mAP@all and more, or compare saved results')
    .option('--split <name>', 'with a run: the split to evaluate (val: the items the run was selected on, also when they were carved from train)', 'test')
    .option('--query-expansion <n,weight>', 'with a run: add weight x the mean of each query\'s n nearest items (n a count, or a share of the retrieval set below 1) and search again; choose it on --split val')
    .option('--k-reciprocal <k1,k2,lambda>', 'with a run: k-reciprocal re-ranking (Zhong et al. 2017): rank by (1 - lambda) x the Jaccard distance of k-reciprocal neighbour sets + lambda x the cosine distance; choose it on --split val')
    .option('--database-augmentation <n,weight>', 'with a run: replace each retrieval item by itself + weight x the mean of its n nearest items of its modality (itself included; n a count or a share); choose it on --split val')
    .option('--data <dir>', 'with a run: another data set with the same modalities and labels')
    .option('--query <file[:var]>', 'query embeddings (.npy, .npz, .mat, .csv), one row per query')
    .option('--retrieval <file[:var]>', 'retrieval-set embeddings, one row per item')
    .option('--query-labels <file[:var]>', 'query labels: multi-hot N x C, or one column of class indices')
    .option('--retrieval-labels <file[:var]>', 'retrieval-set labels, same form')
    .option('--query-groups <file[:var]>', 'instance-level: group id per query (an image and its captions share one)')
    .option('--retrieval-groups <file[:var]>', 'instance-level: group id per retrieval item')
    .option('--label-names <file|list>', 'label names for per-class AP')
    .option('--distance <d>', 'cosine (the papers), dot or euclidean', 'cosine')
    .option('--k <list>', 'cut-offs for mAP@k, P@k and NDCG@k', '1,5,10,50,100')
    .option('--recall-k <list>', 'cut-offs for Recall@K', '1,5,10')
    .option('--map-at-k-denominator <d>', 'retrieved (relevant items within k, DSCMR) or min-k-r', 'retrieved')
    .option('--exclude-paired', 'leave out each query\'s own paired item (query i = item i); the papers keep it')
    .option('--metric <list>', `metrics to show: ${METRICS.join(', ')}`, METRICS.join(','))
    .option('--json', 'print JSON instead of a Markdown table')
    .option('--report <dir>', 'write result.json, result.md, report.html and the plots (SVG, PNG) into this directory')
    .option('--force', 'replace an existing --report directory')
    .option('--title <text>', 'report title')
    .option('--compare <results...>', 'side-by-side table of saved results (result.json files, report or run directories)')
    .action(async (runDir: string | undefined, raw: Record<string, unknown>) => run(parseFlags(EvalOptions, raw), runDir));
}
