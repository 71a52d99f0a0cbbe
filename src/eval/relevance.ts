// Who is relevant to whom. Category-level: query and item share at least one label (the papers' rule), with
// the number of shared labels as the graded relevance of NDCG. Instance-level: same group id (an image and
// its own captions).
import type { NativeRelevance } from '../engine/native.js';

export interface Relevance {
  /**
   * Fills rel (0/1) and grade (shared labels, or 1 for an instance match) of every retrieval item for query q,
   * and counts the items of each grade into gradeCounts (cleared first).
   */
  fill(q: number, rel: Uint8Array, grade: Uint8Array, gradeCounts: Uint32Array): void;
  readonly description: string;
  /** The same relevance in the form the addon's evaluateRows reads (label bitsets or group ids), where it has one. */
  readonly native?: NativeRelevance;
}

function bitsets(labels: Uint8Array, rows: number, classes: number): { words: number; bits: Uint32Array } {
  const words = Math.max(1, Math.ceil(classes / 32));
  const bits = new Uint32Array(rows * words);
  for (let i = 0; i < rows; i++) {
    for (let c = 0; c < classes; c++) if (labels[i * classes + c]) bits[i * words + (c >>> 5)]! |= 1 << (c & 31);
  }
  return { words, bits };
}

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

export function labelRelevance(queryLabels: Uint8Array, retrievalLabels: Uint8Array, classes: number): Relevance {
  const nq = queryLabels.length / classes;
  const nr = retrievalLabels.length / classes;
  const q = bitsets(queryLabels, nq, classes);
  const r = bitsets(retrievalLabels, nr, classes);
  const words = q.words;
  return {
    description: 'relevant when query and item share at least one label; NDCG grade = number of shared labels',
    native: { groups: false, words, queryBits: q.bits, itemBits: r.bits },
    fill(i, rel, grade, gradeCounts) {
      gradeCounts.fill(0);
      if (words === 1) {
        const mask = q.bits[i] as number;
        for (let j = 0; j < nr; j++) {
          const shared = mask & (r.bits[j] as number);
          const g = shared ? popcount(shared) : 0;
          rel[j] = shared ? 1 : 0;
          grade[j] = g;
          gradeCounts[g]!++;
        }
        return;
      }
      for (let j = 0; j < nr; j++) {
        let g = 0;
        for (let w = 0; w < words; w++) g += popcount((q.bits[i * words + w] as number) & (r.bits[j * words + w] as number));
        g = Math.min(g, 255);
        rel[j] = g ? 1 : 0;
        grade[j] = g;
        gradeCounts[g]!++;
      }
    },
  };
}

export function groupRelevance(queryGroups: ArrayLike<number>, retrievalGroups: ArrayLike<number>): Relevance {
  return {
    description: 'relevant when query and item belong to the same instance (group id)',
    native: { groups: true, words: 1, queryGroups: Float64Array.from(queryGroups), itemGroups: Float64Array.from(retrievalGroups) },
    fill(i, rel, grade, gradeCounts) {
      gradeCounts.fill(0);
      const g = queryGroups[i];
      for (let j = 0; j < retrievalGroups.length; j++) {
        const hit = retrievalGroups[j] === g ? 1 : 0;
        rel[j] = hit;
        grade[j] = hit;
        gradeCounts[hit]!++;
      }
    },
  };
}
