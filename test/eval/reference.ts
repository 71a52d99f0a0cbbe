// A plain float64 reference for every metric: sort, then count. Slow and obviously right.
export interface Ref {
  ap: number[];
  map: number;
  mapAtK: (k: number, denominator: 'retrieved' | 'min-k-r') => number;
  precisionAtK: (k: number) => number;
  ndcgAtK: (k: number) => number;
  pr11: number[];
  recallAtK: (k: number) => number;
  medianRank: number;
  withoutRelevant: number;
}

export function reference(q: number[][], r: number[][], grade: (i: number, j: number) => number, distance: 'cosine' | 'dot' | 'euclidean' = 'cosine', exclude?: number[]): Ref {
  const norm = (v: number[]) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  const score = (a: number[], b: number[]) => {
    if (distance === 'euclidean') return -a.reduce((s, x, k) => s + (x - (b[k] as number)) ** 2, 0);
    const dot = a.reduce((s, x, k) => s + x * (b[k] as number), 0);
    return distance === 'dot' ? dot : dot / (norm(a) * norm(b));
  };
  const lists: Array<{ rels: number[]; grades: number[]; R: number; allGrades: number[] }> = [];
  let withoutRelevant = 0;
  q.forEach((qi, i) => {
    const items = r.map((rj, j) => ({ j, s: score(qi, rj), g: grade(i, j) })).filter((x) => x.j !== exclude?.[i]);
    items.sort((a, b) => b.s - a.s || a.j - b.j);
    const R = items.filter((x) => x.g > 0).length;
    if (!R) { withoutRelevant++; return; }
    lists.push({ rels: items.map((x) => (x.g > 0 ? 1 : 0)), grades: items.map((x) => x.g), R, allGrades: items.map((x) => x.g).sort((a, b) => b - a) });
  });
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const apAt = (l: (typeof lists)[number], k: number, denominator: 'all' | 'retrieved' | 'min-k-r') => {
    let hits = 0;
    let s = 0;
    l.rels.slice(0, k).forEach((rel, t) => { if (rel) { hits++; s += hits / (t + 1); } });
    const d = denominator === 'all' ? l.R : denominator === 'retrieved' ? hits : Math.min(k, l.R);
    return d ? s / d : 0;
  };
  const ap = lists.map((l) => apAt(l, l.rels.length, 'all'));
  const firstRanks = lists.map((l) => l.rels.indexOf(1) + 1).sort((a, b) => a - b);
  const dcg = (gs: number[], k: number) => gs.slice(0, k).reduce((s, g, t) => s + (2 ** g - 1) / Math.log2(t + 2), 0);
  return {
    ap,
    map: mean(ap),
    mapAtK: (k, d) => mean(lists.map((l) => apAt(l, k, d))),
    precisionAtK: (k) => mean(lists.map((l) => l.rels.slice(0, k).reduce((a, b) => a + b, 0) / k)),
    ndcgAtK: (k) => mean(lists.map((l) => dcg(l.grades, k) / dcg(l.allGrades, k))),
    pr11: Array.from({ length: 11 }, (_, level) => mean(lists.map((l) => {
      let best = 0;
      let hits = 0;
      l.rels.forEach((rel, t) => { hits += rel; if (hits / l.R >= level / 10 - 1e-12) best = Math.max(best, hits / (t + 1)); });
      return best;
    }))),
    recallAtK: (k) => mean(firstRanks.map((f) => (f <= k ? 1 : 0))),
    medianRank: firstRanks.length % 2 ? firstRanks[(firstRanks.length - 1) / 2]! : (firstRanks[firstRanks.length / 2 - 1]! + firstRanks[firstRanks.length / 2]!) / 2,
    withoutRelevant,
  };
}
