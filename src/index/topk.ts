// Top-k of a score row among allowed positions: a small binary min-heap, O(n log k).

export interface Scored {
  position: number;
  score: number;
}

/** The k best (highest score, ties by lower position) of `scores`, skipping positions where `allowed` is 0. */
export function topK(scores: Float32Array, k: number, allowed?: Uint8Array): Scored[] {
  if (k <= 0) return [];
  const heapPos = new Int32Array(k);
  const heapScore = new Float64Array(k);
  let size = 0;
  // "worse" = lower score, or equal score and higher position.
  const worse = (sa: number, pa: number, sb: number, pb: number) => sa < sb || (sa === sb && pa > pb);
  const siftDown = (i: number) => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < size && worse(heapScore[l]!, heapPos[l]!, heapScore[m]!, heapPos[m]!)) m = l;
      if (r < size && worse(heapScore[r]!, heapPos[r]!, heapScore[m]!, heapPos[m]!)) m = r;
      if (m === i) return;
      [heapScore[i], heapScore[m]] = [heapScore[m]!, heapScore[i]!];
      [heapPos[i], heapPos[m]] = [heapPos[m]!, heapPos[i]!];
      i = m;
    }
  };
  for (let p = 0; p < scores.length; p++) {
    const s = scores[p] as number;
    // Once the heap is full, most scores lose to its worst at once (a lower score always does; positions rise).
    if (size === k && s <= (heapScore[0] as number)) continue;
    if (allowed && !allowed[p]) continue;
    if (Number.isNaN(s)) continue;
    if (size < k) {
      let i = size++;
      heapScore[i] = s;
      heapPos[i] = p;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (!worse(heapScore[i]!, heapPos[i]!, heapScore[parent]!, heapPos[parent]!)) break;
        [heapScore[i], heapScore[parent]] = [heapScore[parent]!, heapScore[i]!];
        [heapPos[i], heapPos[parent]] = [heapPos[parent]!, heapPos[i]!];
        i = parent;
      }
    } else if (worse(heapScore[0]!, heapPos[0]!, s, p)) {
      heapScore[0] = s;
      heapPos[0] = p;
      siftDown(0);
    }
  }
  const out: Scored[] = [];
  for (let i = 0; i < size; i++) out.push({ position: heapPos[i]!, score: heapScore[i]! });
  return out.sort((a, b) => b.score - a.score || a.position - b.position);
}
