// The target domain of a transfer run: checks, and the rows each training step draws from it. Unaligned pools
// are drawn by an independent shuffle per modality; only the oracle draws pairs.
import type { Dataset } from '../data/dataset.js';
import { createRng, permutation } from '../engine/random.js';
import { UserError } from '../errors.js';
import type { Batch } from '../methods/method.js';
import { makeBatch, unalignedBatch, type SplitData, type UnalignedPool } from './split-data.js';

/** The target must offer the modalities the model embeds, with the source's dimensions. */
export function checkTargetDomain(source: Dataset, target: Dataset, modalities: string[]): void {
  for (const m of modalities) {
    if (!target.modalityNames.includes(m)) throw new UserError(`${target.dir}: the target domain has no modality '${m}' (it has ${target.modalityNames.join(', ')})`);
    if (target.modality(m).dim !== source.modality(m).dim) throw new UserError(`${target.dir}: modality '${m}' is ${target.modality(m).dim}-d, the source's is ${source.modality(m).dim}-d`);
  }
  for (const split of ['train', 'test']) if (!target.splitNames.includes(split)) throw new UserError(`${target.dir}: the target domain needs a '${split}' split`);
}

/** A function from step number to the step's target rows, for one epoch (seeded by `epochSeed`). */
export function targetBatches(source: { pools?: Record<string, UnalignedPool> | undefined; pairs?: SplitData | undefined }, epochSeed: number, batchSize: number): ((step: number) => NonNullable<Batch['target']>) | undefined {
  const B = batchSize;
  const { pools, pairs } = source;
  if (pools) {
    const orders = Object.fromEntries(Object.values(pools).map((p, k) => [p.modality, permutation(createRng(epochSeed ^ (0x51ed + k)), p.rows)]));
    return (s) => ({ x: unalignedBatch(pools, orders, s * B, B), aligned: false });
  }
  if (pairs) {
    const order = permutation(createRng(epochSeed ^ 0x0a1c), pairs.items.length);
    return (s) => {
      const positions = Array.from({ length: Math.min(B, order.length) }, (_, i) => order[(s * B + i) % order.length] as number);
      const b = makeBatch(pairs, positions);
      b.labels.dispose();
      return { x: b.x, aligned: true };
    };
  }
  return undefined;
}
