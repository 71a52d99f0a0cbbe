// Transfer of image-text alignment to a domain without pairs (aeir): the lower bound (source only), aeir, and the
// upper bound (the oracle that may read the target's pairs), in one run each, on
// - Wikipedia split by category (real): source art, biology, geography, history, literature; target media, music,
//   royalty, sport, warfare; the target's training pairs unaligned;
// - a synthetic scenario with a controlled shift: `xmodal synth`, half the items to the target, whose features are
//   moved by a random affine map (strength 1).
// Figures: Recall@1/5/10 of both directions on the target test pairs and rSum; selection on the source validation.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Dataset } from '../src/data/dataset.js';
import { splitDomains } from '../src/data/domains.js';
import { mirflickrLabels } from '../src/data/resources.js';
import { synthDefaults, synthesize } from '../src/data/synth.js';
import { writeDataset } from '../src/data/writer.js';
import { PACKAGE_ROOT } from '../src/paths.js';
import { train } from '../src/train/trainer.js';
import { emit, round } from './harness.js';

export async function scenario(name: string, source: string, target: string, preset: string | undefined, dir: string): Promise<void> {
  const rSum: Record<string, number> = {};
  // The three modes, and transfer again with running statistics from target batches only (AdaBN-like).
  const runs: Array<[string, Record<string, unknown>]> = [
    ['source-only', { mode: 'source-only' }], ['transfer', { mode: 'transfer' }], ['oracle', { mode: 'oracle' }],
    ['transfer normStatistics=target', { mode: 'transfer', normStatistics: 'target' }],
  ];
  for (const [label, options] of runs) {
    const started = performance.now();
    const r = await train({ method: 'aeir', ...(preset ? { preset } : {}), options, data: source, target, out: join(dir, `${name}-${label.replace(/\W+/g, '-')}`), seed: 0 });
    const seconds = (performance.now() - started) / 1000;
    const recall = Object.fromEntries(Object.entries(r.test!.directions).flatMap(([d, v]) => Object.entries(v.recallAtK).map(([k, x]) => [`${d} R@${k}`, round(100 * x, 1)])));
    emit({
      name: `transfer ${name} aeir ${label}${preset ? ` (preset ${preset})` : ''}: target test pairs`,
      median_ms: round(seconds * 1000, 0), min_ms: round(seconds * 1000, 0), runs: 1,
      ...recall, rSum: round(r.rSum ?? Number.NaN, 1), selected_epoch: r.bestEpoch, selection: 'source validation split',
    });
    rSum[label] = r.rSum ?? Number.NaN;
  }
  // Where aeir lands between its bounds: 0 = the source-only model, 1 = the oracle.
  const [lower, aeir, upper] = [rSum['source-only'], rSum.transfer, rSum.oracle] as [number, number, number];
  emit({ name: `transfer ${name}: aeir between its bounds`, median_ms: 0, min_ms: 0, runs: 1, lower: round(lower, 1), aeir: round(aeir, 1), upper: round(upper, 1), share_of_gap_recovered: round((aeir - lower) / (upper - lower), 3), between: lower < aeir && aeir < upper });
}

export async function benchTransfer(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'xmodal-bench-'));
  try {
    const wiki = splitDomains(Dataset.open(join(PACKAGE_ROOT, 'datasets/wikipedia')), { targetLabels: ['media', 'music', 'royalty', 'sport', 'warfare'], shift: 0, seed: 0 });
    writeDataset(join(dir, 'wiki-source'), wiki.source);
    writeDataset(join(dir, 'wiki-target'), wiki.target);
    await scenario('wikipedia-categories', join(dir, 'wiki-source'), join(dir, 'wiki-target'), 'wikipedia', dir);

    writeDataset(join(dir, 'synthetic'), synthesize({ ...synthDefaults, items: 4000, modalities: { image: 64, text: 32 }, missing: {}, noise: 0.5, seed: 3, labelSource: await mirflickrLabels(), name: 'synthetic' }));
    const shifted = splitDomains(Dataset.open(join(dir, 'synthetic')), { targetShare: 0.5, shift: 1, seed: 1 });
    writeDataset(join(dir, 'syn-source'), shifted.source);
    writeDataset(join(dir, 'syn-target'), shifted.target);
    await scenario('synthetic-shift', join(dir, 'syn-source'), join(dir, 'syn-target'), undefined, dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
