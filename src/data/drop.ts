// Simulated missing modalities (the TPAMI protocol): among the training items, exact shares lose one modality
// each, chosen by a seeded shuffle; every item keeps at least one modality.
import { UserError } from '../errors.js';
import { createRng, permutation } from '../engine/random.js';
import type { DatasetSpec } from './writer.js';

/** Drops modalities from `rates` shares of the items of `split` (disjoint groups; rates must sum to < 1). */
export function dropModalities(spec: DatasetSpec, rates: Record<string, number>, seed: number, split = 'train'): DatasetSpec {
  const names = spec.modalities.map((m) => m.name);
  for (const [m, r] of Object.entries(rates)) {
    if (!names.includes(m)) throw new UserError(`--drop: no modality '${m}' (modalities: ${names.join(', ')})`);
    if (!(r >= 0 && r < 1)) throw new UserError(`--drop ${m}: the share must lie in [0, 1)`);
  }
  const total = Object.values(rates).reduce((a, b) => a + b, 0);
  if (total >= 1) throw new UserError('--drop: the shares must sum to less than 1, so that some items keep every modality');
  const items = spec.splits[split];
  if (!items) throw new UserError(`--drop: no '${split}' split to drop modalities from`);
  const order = permutation(createRng(seed ^ 0xd20f), items.length);
  let next = 0;
  const modalities = spec.modalities.map((m) => ({ ...m, present: Uint8Array.from(m.present ?? new Uint8Array(m.data.length / m.dim).fill(1)) }));
  for (const [name, rate] of Object.entries(rates)) {
    const count = Math.round(rate * items.length);
    const m = modalities.find((x) => x.name === name)!;
    for (let k = 0; k < count; k++) {
      const item = items[order[next++] as number] as number;
      if (modalities.every((o) => o === m || !o.present[item])) continue; // never leave an item with nothing
      m.present[item] = 0;
    }
  }
  return { ...spec, modalities, provenance: { ...spec.provenance, notes: `${spec.provenance.notes ?? ''} Modalities dropped from '${split}' items (seed ${seed}): ${Object.entries(rates).map(([m, r]) => `${m} ${r}`).join(', ')}.`.trim() } };
}
