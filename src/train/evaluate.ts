// Scores of a model on a split, under the label protocol (mAP over every ordered pair of modalities, the papers')
// or the instance protocol (each item's own pair is the match: Recall@K and rSum, for transfer runs).
import { evaluateCrossModal, evaluateInstances, type CrossModalOptions, type CrossModalResult } from '../eval/crossmodal.js';
import type { RetrievalOptions } from '../eval/metrics.js';
import type { Matrix32 } from '../eval/similarity.js';
import type { Method } from '../methods/method.js';
import type { Scores } from '../runs/files.js';
import { aggregateSplit, embedSplit, type SplitData } from './split-data.js';

/** Every ordered pair of the method's modalities: two directions for two modalities, K(K-1) for K. */
export function directionsOf(modalities: string[]): Array<[string, string]> {
  return modalities.flatMap((a) => modalities.filter((b) => b !== a).map((b): [string, string] => [a, b]));
}

/** Items' labels decide relevance (mAP, the papers' protocol) or each item's own pair does (Recall@K, transfer). */
export type Protocol = 'labels' | 'instances';

export async function evaluateSplit(method: Method, split: SplitData, labelNames: string[], protocol: Protocol): Promise<Scores> {
  const { embeddings, labels } = embedSplit(method, split);
  if (protocol === 'instances') {
    const r = await evaluateInstancePairs(method, split, embeddings, { ks: [], curvePoints: 2 });
    const scores: Record<string, number> = {};
    for (const [direction, d] of Object.entries(r.directions)) for (const [k, v] of Object.entries(d.recallAtK)) scores[`${direction} R@${k}`] = v;
    return { metric: 'rSum', scores, average: r.rSum };
  }
  const r = await evaluateCrossModal({ embeddings, labels: split.labels, labelsOf: labels, labelNames }, directionsOf(method.modalities), { ks: [], recallKs: [], curvePoints: 2 });
  return { metric: 'mAP', scores: maps(r), average: r.averageMAP };
}

/** Instance-level retrieval between the method's two modalities: each item's own image and text are the match. */
export async function evaluateInstancePairs(method: Method, split: SplitData, embeddings: Record<string, Matrix32>, options: Partial<RetrievalOptions> = {}) {
  const [a, b] = method.modalities as [string, string];
  const groups = (m: string) => Array.from(split.present[m] as Uint8Array, (p, k) => (p ? k : -1)).filter((k) => k >= 0);
  const r = await evaluateInstances(embeddings[a] as Matrix32, groups(a), embeddings[b] as Matrix32, groups(b), options);
  return { directions: { [`${a}->${b}`]: r.forward, [`${b}->${a}`]: r.backward }, rSum: r.rSum };
}

export const maps = (r: CrossModalResult) => Object.fromEntries(Object.entries(r.directions).map(([k, v]) => [k, v.mAP]));

export interface FullEvaluation {
  directions: CrossModalResult['directions'];
  /** Mean mAP over single-modality directions (the papers' figure); for instances, the mean reciprocal rank. */
  averageMAP: number;
  /** Instance protocol: R@1+R@5+R@10 of both directions, in percent. */
  rSum?: number;
}

/**
 * Every metric on a split: the label protocol over every ordered pair of modalities, plus, for methods that
 * aggregate, each item's aggregation of all its modalities as a query against each modality; or the instance
 * protocol with rSum.
 */
export async function evaluateFully(method: Method, split: SplitData, labelNames: string[], protocol: Protocol, options: CrossModalOptions = {}): Promise<FullEvaluation> {
  const { embeddings, labels } = embedSplit(method, split);
  if (protocol === 'instances') {
    const r = await evaluateInstancePairs(method, split, embeddings, options);
    const mrr = Object.values(r.directions).map((d) => d.mAP);
    return { directions: r.directions, averageMAP: mrr.reduce((a, b) => a + b, 0) / mrr.length, rSum: r.rSum };
  }
  const pairwise = await evaluateCrossModal({ embeddings, labels: split.labels, labelsOf: labels, labelNames }, directionsOf(method.modalities), options);
  if (!method.aggregate) return pairwise;
  const aggregated = { embeddings: { ...embeddings, aggregate: aggregateSplit(method, split, embeddings) }, labels: split.labels, labelsOf: { ...labels, aggregate: split.labels }, labelNames };
  const extra = await evaluateCrossModal(aggregated, method.modalities.map((m): [string, string] => ['aggregate', m]), options);
  return { directions: { ...pairwise.directions, ...extra.directions }, averageMAP: pairwise.averageMAP };
}
