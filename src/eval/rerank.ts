// Query expansion at query time (average query expansion, Chum et al. 2007; here across modalities): each query
// q, unit-normalised, becomes q + weight * mean of its n nearest items of the retrieval set (unit-normalised, cosine),
// and is searched again. Its neighbours in the target modality carry the target's own geometry into the query.
//   n = 0 leaves the queries as they are; 0 < n < 1 is a share of the retrieval set (so a choice made on a small
//   validation set carries over to a larger test set); n >= 1 is a count.
import { z } from 'zod';
import { UserError } from '../errors.js';
import { topIndices } from './ranking.js';
import { forEachScoreBlock, normalizeRows, type Matrix32 } from './similarity.js';

/** The one definition of a valid expansion: the service's body, the CLI flags and expansionCount check it. */
export const QueryExpansionSchema = z.object({
  n: z.number().min(0).refine((n) => n < 1 || Number.isInteger(n), 'a count (1, 2, ...) or a share of the items (0 < n < 1)'),
  weight: z.number().min(0),
}).strict();
export type QueryExpansion = z.infer<typeof QueryExpansionSchema>;

/** How many neighbours `n` means against a retrieval set of `items`. */
export function expansionCount(n: number, items: number): number {
  if (!QueryExpansionSchema.shape.n.safeParse(n).success) throw new UserError(`query expansion n ${n}: a count (1, 2, ...) or a share of the retrieval set (between 0 and 1)`);
  if (n === 0) return 0;
  return Math.min(items, n < 1 ? Math.max(1, Math.round(n * items)) : n);
}

export async function expandQueries(queries: Matrix32, retrieval: Matrix32, o: QueryExpansion): Promise<Matrix32> {
  const n = expansionCount(o.n, retrieval.rows);
  if (n === 0) return queries;
  const q = normalizeRows(queries);
  const r = normalizeRows(retrieval);
  const d = q.cols;
  const out = Float32Array.from(q.data);
  await forEachScoreBlock(q, r, 'cosine', 256, (start, count, scores) => {
    for (let b = 0; b < count; b++) {
      const top = topIndices(scores.subarray(b * r.rows, (b + 1) * r.rows), n);
      const base = (start + b) * d;
      const scale = o.weight / n;
      for (let t = 0; t < n; t++) {
        const item = (top[t] as number) * d;
        for (let c = 0; c < d; c++) out[base + c]! += scale * (r.data[item + c] as number);
      }
    }
  });
  return { rows: q.rows, cols: d, data: out };
}

/**
 * Database-side augmentation (alpha-DBA without the power: Arandjelovic and Zisserman 2012, Radenovic et al.
 * 2018): each item of the retrieval set, unit-normalised, becomes r + weight * mean of its n nearest items of the
 * same set (itself the nearest), computed once at index time; queries are untouched. The same n and weight
 * rules as query expansion; n = 0 leaves the items as they are.
 */
export function augmentDatabase(retrieval: Matrix32, o: QueryExpansion): Promise<Matrix32> {
  return expandQueries(retrieval, retrieval, o);
}
