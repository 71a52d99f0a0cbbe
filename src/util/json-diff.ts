// The first difference between two JSON values, named by its path: what a refusal says when two recorded
// states (a featuriser's, say) should be equal and are not.
/** The first place where two JSON values differ ("layer: block_13_expand_relu vs out_relu"), or undefined if equal. */
export function firstDifference(a: unknown, b: unknown, path = ''): string | undefined {
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return `${path || '(root)'}: ${a.length} entries vs ${b.length}`;
    for (let i = 0; i < a.length; i++) {
      const d = firstDifference(a[i], b[i], `${path}[${i}]`);
      if (d) return d;
    }
    return undefined;
  }
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys) {
      const d = firstDifference((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], path ? `${path}.${k}` : k);
      if (d) return d;
    }
    return undefined;
  }
  if (Object.is(a, b)) return undefined;
  const show = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));
  return `${path || '(root)'}: ${show(a)} vs ${show(b)}`;
}
