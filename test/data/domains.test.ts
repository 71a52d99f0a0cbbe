import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { Dataset } from '../../src/data/dataset.js';
import { splitDomains } from '../../src/data/domains.js';
import { PACKAGE_ROOT } from '../../src/paths.js';

const wiki = Dataset.open(join(PACKAGE_ROOT, 'datasets/wikipedia'));
const targetLabels = ['media', 'music', 'royalty', 'sport', 'warfare'];

test('by label: every target item carries only target labels, every source item none; splits kept', () => {
  const { source, target } = splitDomains(wiki, { targetLabels, shift: 0, seed: 0 });
  const C = wiki.labelNames.length;
  const inTarget = wiki.labelNames.map((l) => targetLabels.includes(l));
  const count = (spec: typeof source) => spec.labels.data.length / C;
  assert.equal(count(source) + count(target), wiki.size);
  for (let i = 0; i < count(target); i++) for (let c = 0; c < C; c++) if (target.labels.data[i * C + c]) assert.ok(inTarget[c]);
  for (let i = 0; i < count(source); i++) for (let c = 0; c < C; c++) if (source.labels.data[i * C + c]) assert.ok(!inTarget[c]);
  assert.equal((target.splits.train?.length ?? 0) + (source.splits.train?.length ?? 0), wiki.split('train').length);
  assert.equal((target.splits.test?.length ?? 0) + (source.splits.test?.length ?? 0), wiki.split('test').length);
  // Unshifted: the target's rows are the original rows.
  const labels = wiki.labels(wiki.all());
  const firstSource = Array.from({ length: wiki.size }, (_, i) => i).find((i) => !inTarget[labels.subarray(i * C, (i + 1) * C).indexOf(1)])!;
  const first = wiki.features('image', [firstSource]);
  assert.deepEqual(Array.from(source.modalities[0]!.data.subarray(0, 128)), Array.from(first));
});

test('by share with a shift: same label distribution, seeded and reproducible, only the target moves', () => {
  const a = splitDomains(wiki, { targetShare: 0.5, shift: 1, seed: 3 });
  const b = splitDomains(wiki, { targetShare: 0.5, shift: 1, seed: 3 });
  const plain = splitDomains(wiki, { targetShare: 0.5, shift: 0, seed: 3 });
  assert.equal(a.target.labels.data.length / 10, Math.round(wiki.size / 2));
  assert.deepEqual(Array.from(a.target.modalities[1]!.data), Array.from(b.target.modalities[1]!.data));
  assert.deepEqual(Array.from(a.source.modalities[1]!.data), Array.from(plain.source.modalities[1]!.data));
  const moved = a.target.modalities[1]!.data.some((v, i) => Math.abs(v - (plain.target.modalities[1]!.data[i] as number)) > 1e-3);
  assert.ok(moved, 'the target features are shifted');
  assert.throws(() => splitDomains(wiki, { shift: 0, seed: 0 }), /either --target-labels or --target-share/);
  assert.throws(() => splitDomains(wiki, { targetShare: 1.5, shift: 0, seed: 0 }), /--target-share must lie strictly between 0 and 1/);
});
