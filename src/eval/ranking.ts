// Ranking a retrieval set by score, descending, ties broken by retrieval index (ascending), as a stable sort
// of the official code would. A full ranking per query is needed for mAP@all, so this is the hot loop of
// evaluation: an LSD radix sort on order-preserving integer keys of the float32 scores (3 passes of 11 bits).

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** An unsigned key whose ascending order is the descending order of the float; NaN sorts last. */
export function descendingKey(score: number): number {
  if (Number.isNaN(score)) return 0xffffffff;
  f32[0] = score;
  const bits = u32[0] as number;
  const ascending = bits & 0x80000000 ? ~bits >>> 0 : (bits | 0x80000000) >>> 0;
  return ~ascending >>> 0;
}

export class Ranker {
  private keys: Uint32Array;
  private keysB: Uint32Array;
  private order: Int32Array;
  private orderB: Int32Array;
  private readonly counts = new Uint32Array(2048);

  constructor(private readonly n: number) {
    this.keys = new Uint32Array(n);
    this.keysB = new Uint32Array(n);
    this.order = new Int32Array(n);
    this.orderB = new Int32Array(n);
  }

  /** Retrieval indices in rank order for one query's scores (valid until the next call). */
  rank(scores: Float32Array): Int32Array {
    const n = this.n;
    const keyView = new Uint32Array(scores.buffer, scores.byteOffset, n);
    let keys = this.keys;
    let order = this.order;
    for (let i = 0; i < n; i++) {
      const bits = keyView[i] as number;
      // Inline descendingKey: flip so that larger floats get smaller keys; NaN (exponent all ones, mantissa != 0) last.
      const isNaN = (bits & 0x7fffffff) > 0x7f800000;
      const ascending = bits & 0x80000000 ? ~bits >>> 0 : (bits | 0x80000000) >>> 0;
      keys[i] = isNaN ? 0xffffffff : ~ascending >>> 0;
      order[i] = i;
    }
    let keysOut = this.keysB;
    let orderOut = this.orderB;
    const counts = this.counts;
    for (let shift = 0; shift < 32; shift += 11) {
      const bins = shift === 22 ? 1024 : 2048;
      counts.fill(0, 0, bins);
      for (let i = 0; i < n; i++) counts[((keys[i] as number) >>> shift) & (bins - 1)]!++;
      let sum = 0;
      for (let b = 0; b < bins; b++) {
        const c = counts[b] as number;
        counts[b] = sum;
        sum += c;
      }
      for (let i = 0; i < n; i++) {
        const key = keys[i] as number;
        const pos = counts[(key >>> shift) & (bins - 1)]!++;
        keysOut[pos] = key;
        orderOut[pos] = order[i] as number;
      }
      [keys, keysOut] = [keysOut, keys];
      [order, orderOut] = [orderOut, order];
    }
    // Three passes leave the result in the B buffers; keep the fields pointing at the A/B pair either way.
    this.keys = keys;
    this.keysB = keysOut;
    this.order = order;
    this.orderB = orderOut;
    return order;
  }
}

/** Positions of the k largest values, largest first (ties: the lower position). */
export function topIndices(row: Float32Array, k: number): Int32Array {
  const top = new Int32Array(k).fill(-1);
  const best = new Float64Array(k).fill(-Infinity);
  for (let j = 0; j < row.length; j++) {
    const s = row[j] as number;
    if (s <= (best[k - 1] as number)) continue;
    let p = k - 1;
    while (p > 0 && (best[p - 1] as number) < s) {
      best[p] = best[p - 1] as number;
      top[p] = top[p - 1] as number;
      p--;
    }
    best[p] = s;
    top[p] = j;
  }
  return top;
}
