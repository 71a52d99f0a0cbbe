// The papers' cross-modal protocol: every image queries all texts and every text all images of the same
// (test) set, relevance by shared labels, mAP@all in both directions and their mean.
import { UserError } from '../errors.js';
import { evaluateRetrieval, type RetrievalOptions, type RetrievalResult } from './metrics.js';
import { groupRelevance, labelRelevance } from './relevance.js';
import { augmentDatabase, expandQueries, type QueryExpansion } from './rerank.js';
import { kReciprocalRescorer, type KReciprocal } from './k-reciprocal.js';
import { TransposedScores, type Matrix32 } from './similarity.js';

export interface CrossModalInput {
  /** Modality name -> embeddings of the same items, in item order. */
  embeddings: Record<string, Matrix32>;
  labels: Uint8Array;
  labelNames: string[];
  /** When modalities cover different items (missing modalities): the labels of each modality's rows. */
  labelsOf?: Record<string, Uint8Array>;
  /** Items whose label row is all zero are never queries (their precision is undefined); they stay retrievable. */
}

export interface CrossModalResult {
  directions: Record<string, RetrievalResult>;
  /** Mean mAP over the directions. */
  averageMAP: number;
}

/** Retrieval settings, plus query expansion against each direction's retrieval set (rerank.ts). */
export type CrossModalOptions = Partial<RetrievalOptions> & { queryExpansion?: QueryExpansion | undefined; databaseAugmentation?: QueryExpansion | undefined; kReciprocal?: KReciprocal | undefined };

/** The most scores (queries x items) kept for a reverse direction: 2 GiB of float32. Beyond it, each direction multiplies. */
export const sharedScoresLimit = 2 ** 29;

export async function evaluateCrossModal(input: CrossModalInput, pairs: Array<[string, string]>, options: CrossModalOptions = {}): Promise<CrossModalResult> {
  const { queryExpansion, databaseAugmentation, kReciprocal, ...retrieval } = options;
  // Each modality's items augmented once (they serve as the retrieval set of every direction into it).
  const augmented: Record<string, Matrix32> = {};
  const C = input.labelNames.length;
  const directions: Record<string, RetrievalResult> = {};
  // A direction whose reverse comes later keeps its scores for it (similarity.ts), when nothing re-weights either
  // side (query expansion and database augmentation make the two matrices differ) and the copy fits the cap.
  const kept = new Map<string, TransposedScores>();
  for (const [i, [from, to]] of pairs.entries()) {
    const q = input.embeddings[from];
    const plain = input.embeddings[to];
    const r = plain && databaseAugmentation ? (augmented[to] ??= await augmentDatabase(plain, databaseAugmentation)) : plain;
    if (!q || !r) throw new UserError(`no embeddings for modality '${!q ? from : to}' (have: ${Object.keys(input.embeddings).join(', ')})`);
    const ql = input.labelsOf?.[from] ?? input.labels;
    const rl = input.labelsOf?.[to] ?? input.labels;
    const queries = queryExpansion ? await expandQueries(q, r, queryExpansion) : q;
    const rescore = kReciprocal ? await kReciprocalRescorer(r, kReciprocal) : undefined;
    const stored = kept.get(`${from}->${to}`);
    kept.delete(`${from}->${to}`);
    const keep = !stored && from !== to && !queryExpansion && !databaseAugmentation && q.rows * r.rows <= sharedScoresLimit
      && pairs.slice(i + 1).some(([a, b]) => a === to && b === from) ? new TransposedScores(q.rows, r.rows, retrieval) : undefined;
    directions[`${from}->${to}`] = await evaluateRetrieval(queries, r, labelRelevance(ql, rl, C), {
      ...retrieval,
      ...(rescore ? { rescore } : {}),
      ...(stored ? { scoreBlocks: stored.blocks } : {}),
      ...(keep ? { onScores: keep.add } : {}),
      perClass: { labels: ql, classes: C, names: input.labelNames },
    });
    if (keep) kept.set(`${to}->${from}`, keep);
  }
  const maps = Object.values(directions).map((d) => d.mAP);
  return { directions, averageMAP: maps.reduce((a, b) => a + b, 0) / Math.max(maps.length, 1) };
}

/** Instance-level retrieval (an image and its own captions): Recall@K, median rank and rSum in both directions. */
export async function evaluateInstances(a: Matrix32, aGroups: ArrayLike<number>, b: Matrix32, bGroups: ArrayLike<number>, options: Partial<RetrievalOptions> = {}) {
  const keep = a.rows * b.rows <= sharedScoresLimit ? new TransposedScores(a.rows, b.rows, options) : undefined;
  const ab = await evaluateRetrieval(a, b, groupRelevance(aGroups, bGroups), { ...options, ...(keep ? { onScores: keep.add } : {}) });
  const ba = await evaluateRetrieval(b, a, groupRelevance(bGroups, aGroups), { ...options, ...(keep ? { scoreBlocks: keep.blocks } : {}) });
  const rSum = 100 * [...Object.values(ab.recallAtK), ...Object.values(ba.recallAtK)].reduce((s, v) => s + v, 0);
  return { forward: ab, backward: ba, rSum };
}
