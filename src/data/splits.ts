// A held-out split carved from training data (validation at training time, test or validation at import):
// seeded, stratified by each item's rarest label, so that every label that can be is represented in both parts.
import { createRng, permutation } from '../engine/random.js';

export function carveValidation(train: Int32Array, labels: Uint8Array, classes: number, fraction: number, seed: number): { train: Int32Array; val: Int32Array } {
  const frequency = new Float64Array(classes);
  for (const i of train) for (let c = 0; c < classes; c++) frequency[c]! += labels[i * classes + c] as number;
  const strata = new Map<number, number[]>();
  for (const i of train) {
    let rarest = -1;
    for (let c = 0; c < classes; c++) {
      if (labels[i * classes + c] && (rarest < 0 || (frequency[c] as number) < (frequency[rarest] as number))) rarest = c;
    }
    if (!strata.has(rarest)) strata.set(rarest, []);
    strata.get(rarest)!.push(i);
  }
  const rng = createRng(seed ^ 0x5eed);
  const val: number[] = [];
  const rest: number[] = [];
  for (const key of [...strata.keys()].sort((a, b) => a - b)) {
    const items = strata.get(key)!;
    const order = permutation(rng, items.length);
    const take = Math.round(items.length * fraction);
    order.forEach((o, k) => (k < take ? val : rest).push(items[o] as number));
  }
  return { train: Int32Array.from(rest).sort(), val: Int32Array.from(val).sort() };
}
