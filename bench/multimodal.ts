// K > 2 modalities: one AGAT model for all views of UCI Multiple Features (real, 3 views, 1,500 / 500 items,
// 10 digits) against pairwise methods trained once per pair of views (K(K-1)/2 models). Selection on a validation
// split carved from train; every figure is test mAP@all (relevant = same digit).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importArrays } from '../src/data/importers/arrays.js';
import { writeDataset } from '../src/data/writer.js';
import { directionsOf } from '../src/train/evaluate.js';
import { train } from '../src/train/trainer.js';
import { PACKAGE_ROOT } from '../src/paths.js';
import { emit, round } from './harness.js';

/** The real data beside the checkout (../shared/data), as the tests read it. */
const SHARED_DATA = join(PACKAGE_ROOT, '../shared/data');

const views = { fourier: 'I', karhunen: 'T', pixels: 'P' } as const;

export async function importUciMfeat(out: string): Promise<string> {
  const mat = join(SHARED_DATA, 'uci-mfeat/uci_all.mat');
  const spec = await importArrays({
    modalities: Object.entries(views).map(([name, v]) => `${name}=${mat}:${v}_tr+${v}_te`),
    labels: `${mat}:L_tr+L_te`,
    labelNames: Array.from({ length: 10 }, (_, i) => `digit${i}`).join(','),
    splits: ['train=0:1500', 'test=1500:2000'],
    name: 'uci-mfeat',
  });
  writeDataset(out, spec);
  return out;
}

interface Approach {
  name: string;
  models: number;
  seconds: number;
  mAP: Record<string, number>;
}

function report(dataset: string, a: Approach): void {
  // The mean over single-modality directions, comparable between one model and the pairwise ones.
  const values = Object.entries(a.mAP).filter(([k]) => !k.startsWith('aggregate->')).map(([, v]) => v);
  emit({
    name: `${dataset} ${a.name}: test mAP in every direction, selected on validation`,
    median_ms: round(a.seconds * 1000, 0), min_ms: round(a.seconds * 1000, 0), runs: 1,
    models: a.models, training_seconds: round(a.seconds, 1),
    ...Object.fromEntries(Object.entries(a.mAP).map(([k, v]) => [k, round(v, 4)])),
    mean_over_modality_directions: round(values.reduce((s, v) => s + v, 0) / values.length, 4),
  });
}

async function timedTrain(config: Parameters<typeof train>[0]) {
  const started = performance.now();
  const result = await train(config);
  return { result, seconds: (performance.now() - started) / 1000 };
}

export async function benchMultimodal(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'xmodal-bench-'));
  try {
    const data = await importUciMfeat(join(dir, 'uci-mfeat'));
    const names = Object.keys(views);
    const { result, seconds } = await timedTrain({ method: 'agat', preset: 'uci-mfeat', data, out: join(dir, 'agat'), seed: 0 });
    const agat: Approach = { name: 'agat (one model, preset uci-mfeat)', models: 1, seconds, mAP: {} };
    for (const [k, r] of Object.entries(result.test!.directions)) agat.mAP[k] = r.mAP;
    report('uci-mfeat', agat);
    for (const [method, preset] of [['dscmr', 'pascal'], ['ignn-con', 'wikipedia']] as const) {
      const pairwise: Approach = { name: `${method} (one model per pair of views, preset ${preset})`, models: 0, seconds: 0, mAP: {} };
      for (const [a, b] of directionsOf(names).filter(([a, b]) => names.indexOf(a) < names.indexOf(b))) {
        const run = await timedTrain({ method, preset, options: { modalities: [a, b] }, data, out: join(dir, `${method}-${a}-${b}`), seed: 0, ...(method === 'dscmr' ? { epochs: 100 } : {}) });
        pairwise.models++;
        pairwise.seconds += run.seconds;
        for (const [k, r] of Object.entries(run.result.test!.directions)) pairwise.mAP[k] = r.mAP;
      }
      report('uci-mfeat', pairwise);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
