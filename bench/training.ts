// Accuracy and wall time of whole training runs: the real Wikipedia benchmark (canonical split, model selected
// on a validation split carved from train, evaluated once on test), and a synthetic set drawn from MIRFlickr's
// real 24-label structure with an ablation without the label graph.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mirflickrLabels, labelGlove } from '../src/data/resources.js';
import { synthDefaults, synthesize } from '../src/data/synth.js';
import { writeDataset } from '../src/data/writer.js';
import { Dataset } from '../src/data/dataset.js';
import { dropModalities } from '../src/data/drop.js';
import { importWikipedia } from '../src/data/importers/wikipedia.js';
import { PACKAGE_ROOT } from '../src/paths.js';
import { readEpochs } from '../src/runs/files.js';
import { train } from '../src/train/trainer.js';
import { nativeKernels } from '../src/engine/engine.js';
import { setFusedGradients } from '../src/engine/ops.js';
import { emit, round } from './harness.js';

async function figure(name: string, config: Parameters<typeof train>[0], extra: Record<string, unknown> = {}): Promise<{ i2t: number; t2i: number }> {
  const started = performance.now();
  const result = await train({ ...config, trackTest: true });
  const seconds = (performance.now() - started) / 1000;
  const epochs = readEpochs(result.dir);
  // The papers' protocol: the best test epoch (optimistic; reported for comparison only).
  const bestTest = epochs.reduce((a, b) => ((b.test?.average ?? 0) > (a.test?.average ?? 0) ? b : a));
  const directions = result.test?.directions ?? {};
  const [i2t, t2i] = Object.values(directions).map((d) => round(d.mAP, 4));
  emit({
    name, median_ms: round(seconds * 1000, 0), min_ms: round(seconds * 1000, 0), runs: 1,
    selected_epoch: result.bestEpoch, test_i2t: i2t, test_t2i: t2i, test_mean: round(result.test?.averageMAP ?? Number.NaN, 4),
    selection: 'validation split carved from train',
    papers_protocol_epoch: bestTest.epoch, papers_protocol_i2t: round(Object.values(bestTest.test?.scores ?? {})[0] ?? Number.NaN, 4),
    papers_protocol_t2i: round(Object.values(bestTest.test?.scores ?? {})[1] ?? Number.NaN, 4),
    epochs: epochs.length, seconds_per_epoch: round(seconds / epochs.length, 2), ...extra,
  });
  return { i2t: i2t ?? Number.NaN, t2i: t2i ?? Number.NaN };
}

export async function benchWikipedia(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'xmodal-bench-'));
  try {
    for (const method of ['dagnn', 'pgnn-con', 'ignn-con', 'dscmr', 'acmr', 'cca', 'scm', 'agat']) {
      await figure(`wikipedia ${method}${['cca', 'scm'].includes(method) ? '' : ' (preset wikipedia)'}: test mAP, selected on validation`, {
        method, ...(['cca', 'scm'].includes(method) ? {} : { preset: 'wikipedia' }), data: join(PACKAGE_ROOT, 'datasets/wikipedia'), out: join(dir, method), seed: 0,
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Seed-to-seed spread of the Wikipedia result (the seed also draws the validation split), and what --refit
 * (retraining on train + validation for the selected epochs) changes, seed by seed and on average.
 */
export async function benchWikipediaSeeds(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'xmodal-bench-'));
  try {
    const sums = { plain: { i2t: 0, t2i: 0 }, refit: { i2t: 0, t2i: 0 } };
    const seeds = [0, 1, 2];
    for (const seed of seeds) {
      for (const refit of [false, true]) {
        const r = await figure(`wikipedia ignn-con (preset wikipedia), seed ${seed}${refit ? ', --refit' : ''}: test mAP, selected on validation`, {
          method: 'ignn-con', preset: 'wikipedia', data: join(PACKAGE_ROOT, 'datasets/wikipedia'), out: join(dir, `s${seed}-${refit}`), seed, refit,
        });
        const s = sums[refit ? 'refit' : 'plain'];
        s.i2t += r.i2t;
        s.t2i += r.t2i;
      }
    }
    for (const [label, s] of Object.entries(sums)) {
      emit({ name: `wikipedia ignn-con (preset wikipedia), mean of seeds ${seeds.join(', ')}${label === 'refit' ? ', --refit' : ''}`, median_ms: 0, min_ms: 0, runs: seeds.length, test_i2t: round(s.i2t / seeds.length, 4), test_t2i: round(s.t2i / seeds.length, 4) });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The whole-run wall time of issue 5, on the official run's terms: ignn-con with the official MIRFlickr training
 * settings (Adam 5e-5, batch 100) for 200 epochs on Wikipedia, test mAP computed every epoch as the official code
 * does. Reference: the official implementation took 11 min 18 s (678 s) on this machine kind. Issue 19 asks for
 * 0.75x of the op-by-op gradients' run: both are run here, one after the other (about 9 minutes), and the ratio
 * printed; their selected epochs and test figures show what the fused gradients' rounding moved.
 */
export async function benchFullRun(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'xmodal-bench-'));
  const seconds: Record<string, number> = {};
  try {
    const native = nativeKernels();
    for (const fused of [false, true]) {
      // Before: tfjs's op-by-op gradients and the packed forward thin product, as the code stood before this work.
      const previous = setFusedGradients(fused);
      const previousWide = native?.setWideThinKernels(fused);
      const label = fused ? 'fused gradients, native batch norm, wide thin product' : 'before: op-by-op gradients, packed thin product';
      const started = performance.now();
      try {
        await figure(`wikipedia ignn-con, official settings (lr 5e-5, batch 100), 200 epochs, test mAP every epoch: whole run, ${label}`, {
          method: 'ignn-con', preset: 'mirflickr', data: join(PACKAGE_ROOT, 'datasets/wikipedia'), out: join(dir, `run-${fused}`), epochs: 200, seed: 0,
        }, { official_seconds: 678, official_seconds_per_epoch: 3.4, fused_gradients: fused });
      } finally {
        setFusedGradients(previous);
        if (previousWide !== undefined) native?.setWideThinKernels(previousWide);
      }
      seconds[String(fused)] = (performance.now() - started) / 1000;
    }
    const [before, after] = [seconds.false as number, seconds.true as number];
    emit({ name: 'wikipedia ignn-con 200-epoch run: #19 step work against before, same process', median_ms: round(after * 1000, 0), min_ms: round(after * 1000, 0), runs: 1, before_ms: round(before * 1000, 0), ratio: round(after / before, 3), target_ratio: 0.75 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchSynthetic(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'xmodal-bench-'));
  try {
    const glove = labelGlove('mirflickr25k');
    const spec = synthesize({ ...synthDefaults, items: 3000, modalities: { image: 256, text: 128 }, missing: {}, noise: 1, seed: 7, labelSource: await mirflickrLabels(), name: 'synthetic-mirflickr' });
    spec.labelEmbeddings = { data: Float32Array.from(glove.vectors.flat()), dim: glove.dim, source: 'label GloVe (MIRFlickr)' };
    const data = join(dir, 'data');
    writeDataset(data, spec);
    const runs: Array<[string, string, Record<string, unknown>]> = [
      ['dagnn', 'dagnn', {}], ['pgnn-con', 'pgnn-con', {}], ['ignn-con', 'ignn-con', {}], ['ignn-con without the label graph (free classifiers)', 'ignn-con', { graph: 'none' }],
    ];
    for (const [label, method, options] of runs) {
      await figure(`synthetic MIRFlickr-label set (3000 items, noise 1): ${label}`, {
        method, preset: 'mirflickr', options, data, out: join(dir, label.replace(/\W+/g, '-')), epochs: 30, lr: 2e-4, seed: 0,
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Wikipedia with the TPAMI missing pattern (40% image-only, 40% text-only training items). */
export async function benchIncomplete(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'xmodal-bench-'));
  try {
    const complete = join(PACKAGE_ROOT, 'datasets/wikipedia');
    const ds = Dataset.open(complete);
    const spec = await importWikipedia(join(PACKAGE_ROOT, '..', 'shared', 'data', 'wikipedia')).catch(() => undefined);
    if (!spec) throw new Error('the incomplete benchmark needs ../shared/data/wikipedia');
    const vectors = ds.labelEmbeddings();
    if (vectors) spec.labelEmbeddings = vectors;
    const missing = join(dir, 'missing');
    writeDataset(missing, dropModalities(spec, { image: 0.4, text: 0.4 }, 0));
    const common = { method: 'ignn-con', preset: 'wikipedia', seed: 0 };
    await figure('wikipedia ignn-con, complete training data', { ...common, data: complete, out: join(dir, 'complete') });
    await figure('wikipedia ignn-con, 40% image-only + 40% text-only training items, masked', { ...common, data: missing, out: join(dir, 'masked') });
    await figure('wikipedia ignn-con, same missing pattern, masked + reconstruction (Adam 2e-5, 20 epochs)', {
      ...common, data: missing, out: join(dir, 'reconstructed'), reconstruct: { epochs: 20, lr: 2e-5, optimizer: 'adam', argOrder: 'paper' },
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
