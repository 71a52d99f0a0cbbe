// Checks shared by the importers (before a data set is written) and `xmodal validate` (on one read back), so
// that what an import refuses and what validate calls a problem are the same thing.

/** Default limit on the number of labels (import's --max-labels raises it). */
export const MAX_LABELS = 10_000;

/** Splits that must not share items: a model selected or scored on items it was trained on reports nothing. */
export const DISJOINT_SPLITS = ['train', 'val', 'test'] as const;

/** The first problem with the split lists (out of range, listed twice, train/val/test sharing an item), or undefined. */
export function splitProblem(splits: Record<string, ArrayLike<number>>, items: number, allowOverlap = false): string | undefined {
  const owner = new Map<number, string>();
  for (const [split, indices] of Object.entries(splits)) {
    const disjoint = !allowOverlap && (DISJOINT_SPLITS as readonly string[]).includes(split);
    const mine = new Set<number>();
    for (let k = 0; k < indices.length; k++) {
      const i = indices[k] as number;
      if (!(i >= 0 && i < items)) return `split '${split}': item ${i} out of range [0, ${items})`;
      if (mine.has(i)) return `split '${split}': item ${i} listed twice`;
      mine.add(i);
      if (!disjoint) continue;
      const other = owner.get(i);
      if (other !== undefined) return `splits '${other}' and '${split}' share item ${i}: train, val and test must not overlap`;
      owner.set(i, split);
    }
  }
  return undefined;
}

/** The first id used by two items, as a message, or undefined. Items without an id are skipped. */
export function duplicateIdProblem(metadata: ReadonlyArray<Record<string, unknown>>): string | undefined {
  const ids = new Map<string, number>();
  for (let i = 0; i < metadata.length; i++) {
    const raw = metadata[i]?.id;
    if (raw === undefined) continue;
    const id = String(raw);
    const first = ids.get(id);
    if (first !== undefined) return `metadata: id '${id}' is used by items ${first} and ${i} (ids must be unique)`;
    ids.set(id, i);
  }
  return undefined;
}

/** The first label name given twice, as a message, or undefined. */
export function duplicateLabelProblem(names: readonly string[]): string | undefined {
  const seen = new Set<string>();
  for (const name of names) {
    if (seen.has(name)) return `label name '${name}' given twice`;
    seen.add(name);
  }
  return undefined;
}
