// Image featurisers: decode with sharp (libvips, prebuilt inside npm), letterbox on white to the backbone's square
// input, run a pretrained CNN on the tfjs engine and average-pool one layer's activations over space. Backbones:
// MobileNetV2 with the weights nsfwjs ships inside its npm package (nothing is downloaded), or a user's own
// tfjs layers model directory. Pooled mid-level layers separate product categories better than the head's input
// (docs/features.md), so the layer is a parameter.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import sharp from 'sharp';
import { initEngine, tf } from '../engine/engine.js';
import { UserError } from '../errors.js';
import { foldBatchNorm, type ModelArtifacts } from './fold-batch-norm.js';
import { DEFAULT_IMAGE_LAYER, FEATURIZER_VERSION, type ImageState } from './state.js';

const require = createRequire(import.meta.url);

export const DECODER = `sharp ${sharp.versions.sharp}`;


/** Layers worth trying, from mid-level to the pooled output before the NSFW head. */
export const MOBILENET_LAYERS = ['block_12_add', 'block_13_expand_relu', 'block_14_expand_relu', 'block_16_expand_relu', 'out_relu'];

/** Longest side of the thumbnails an import keeps for the page. */
export const THUMBNAIL_SIDE = 256;

export interface DecodedImage {
  /** size x size x 3 RGB bytes, letterboxed on white. */
  pixels: Uint8Array;
  width: number;
  height: number;
}

/** One line naming the file when sharp cannot read it as an image. */
function notAnImage(where: string, error: unknown): UserError {
  const reason = (error as Error).message.replace(/\s+/g, ' ').trim();
  return new UserError(`${where}: not an image sharp can read (${reason})`);
}

/** Decodes, applies EXIF orientation, drops alpha over white and letterboxes to size x size. */
export async function decodeImage(bytes: Uint8Array, size: number, where: string): Promise<DecodedImage> {
  try {
    const image = sharp(bytes, { failOn: 'error' }).rotate();
    const meta = await image.metadata();
    const { data } = await image
      .flatten({ background: '#ffffff' })
      .resize(size, size, { fit: 'contain', background: '#ffffff', kernel: 'lanczos3' })
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (data.length !== size * size * 3) throw new Error(`decoded ${data.length} bytes, expected ${size * size * 3}`);
    const oriented = (meta.orientation ?? 1) >= 5;
    return { pixels: new Uint8Array(data.buffer, data.byteOffset, data.length), width: (oriented ? meta.height : meta.width) ?? 0, height: (oriented ? meta.width : meta.height) ?? 0 };
  } catch (error) {
    throw notAnImage(where, error);
  }
}

/** A JPEG thumbnail whose longer side is at most THUMBNAIL_SIDE pixels. */
export async function thumbnail(bytes: Uint8Array, where: string): Promise<Buffer> {
  try {
    return await sharp(bytes, { failOn: 'error' }).rotate().flatten({ background: '#ffffff' })
      .resize(THUMBNAIL_SIDE, THUMBNAIL_SIDE, { fit: 'inside', withoutEnlargement: true })
      .jpeg({ quality: 82 }).toBuffer();
  } catch (error) {
    throw notAnImage(where, error);
  }
}


/** nsfwjs's MobileNetV2: its model JSON and base64 weight shard are bundled as JavaScript files in the package. */
export function mobilenetArtifacts(): ModelArtifacts {
  let root: string;
  try {
    root = join(dirname(require.resolve('nsfwjs')), '..', '..');
  } catch {
    throw new UserError('image backbone mobilenet-v2 needs the package nsfwjs (npm install nsfwjs@4.2.1)');
  }
  const json = require(join(root, 'dist/models/mobilenet_v2/model.min.js')) as { modelTopology: Record<string, unknown>; weightsManifest: tf.io.WeightsManifestConfig };
  const shard = require(join(root, 'dist/models/mobilenet_v2/group1-shard1of1.min.js')) as string;
  return { topology: json.modelTopology, weightSpecs: json.weightsManifest.flatMap((g) => g.weights), weights: Buffer.from(shard, 'base64') };
}

/** A tfjs layers model directory (model.json + weight shards), read from disk with one-line errors. */
function directoryArtifacts(dir: string): ModelArtifacts {
  const path = join(dir, 'model.json');
  if (!existsSync(path)) throw new UserError(`--image-model ${dir}: no model.json (give a tfjs layers model directory)`);
  let json: { modelTopology?: Record<string, unknown>; weightsManifest?: tf.io.WeightsManifestConfig; format?: string };
  try {
    json = JSON.parse(readFileSync(path, 'utf8')) as typeof json;
  } catch (error) {
    throw new UserError(`${path}: not valid JSON (${(error as Error).message})`);
  }
  if (!json.modelTopology || !json.weightsManifest) throw new UserError(`${path}: not a tfjs model (no modelTopology or weightsManifest)`);
  if (json.format === 'graph-model') throw new UserError(`${path}: a tfjs graph model; --image-model takes a layers model (its layer names are what --image-layer picks)`);
  const shards = json.weightsManifest.flatMap((g) => g.paths).map((p) => {
    if (!/^[A-Za-z0-9._-]+$/.test(p)) throw new UserError(`${path}: weight path '${p}' is not a plain file name in the model directory`);
    try {
      return readFileSync(join(dir, p));
    } catch {
      throw new UserError(`${join(dir, p)}: cannot read (a weight shard of ${path})`);
    }
  });
  return { topology: json.modelTopology, weightSpecs: json.weightsManifest.flatMap((g) => g.weights), weights: Buffer.concat(shards) };
}

function artifactsSha256(a: ModelArtifacts): string {
  return createHash('sha256').update(JSON.stringify(a.topology)).update(JSON.stringify(a.weightSpecs)).update(a.weights).digest('hex');
}

export interface ImageFeaturizerOptions {
  backbone: 'mobilenet-v2' | 'tfjs-model';
  modelDir?: string;
  layer?: string;
  /** Input side; default: the model's own. */
  size?: number;
  /** Images per forward pass. */
  batch?: number;
}

export interface ImageFeaturizer {
  readonly state: ImageState;
  readonly dim: number;
  /** Decoded (letterboxed) images -> n x dim pooled activations. */
  featurizeDecoded(images: DecodedImage[]): Float32Array;
  /** Raw file bytes -> n x dim; `where[i]` names the image in errors. */
  featurize(images: Uint8Array[], where: string[]): Promise<Float32Array>;
}

/** The pooled activations of one layer: a sub-model from the input to it, averaged over height and width. */
async function build(artifacts: ModelArtifacts, layerName: string, where: string): Promise<{ model: tf.LayersModel; dim: number; size: number }> {
  await initEngine({ quiet: true });
  const inference = await foldBatchNorm(artifacts, layerName);
  const weightData = inference.weights.buffer.slice(inference.weights.byteOffset, inference.weights.byteOffset + inference.weights.byteLength) as ArrayBuffer;
  const full = await tf.loadLayersModel({ load: async () => ({ modelTopology: inference.topology, weightSpecs: inference.weightSpecs, weightData }) });
  const layer = full.layers.find((l) => l.name === layerName);
  if (!layer) throw new UserError(`${where}: no layer '${layerName}' (layers include: ${full.layers.slice(-12).map((l) => l.name).join(', ')})`);
  const shape = full.inputs[0]!.shape;
  const size = shape[1];
  if (shape.length !== 4 || shape[3] !== 3 || !size || shape[2] !== size) throw new UserError(`${where}: the model's input is ${JSON.stringify(shape)}, not square RGB [null, s, s, 3]`);
  const out = layer.output as tf.SymbolicTensor;
  const dim = out.shape[out.shape.length - 1];
  if (!dim) throw new UserError(`${where}: layer '${layerName}' has no fixed channel count`);
  return { model: tf.model({ inputs: full.inputs, outputs: out }), dim, size };
}

function featurizer(state: ImageState, model: tf.LayersModel, batch: number): ImageFeaturizer {
  const { size, dim } = state;
  const featurizeDecoded = (images: DecodedImage[]): Float32Array => {
    const out = new Float32Array(images.length * dim);
    for (let start = 0; start < images.length; start += batch) {
      const chunk = images.slice(start, start + batch);
      const pixels = new Float32Array(chunk.length * size * size * 3);
      chunk.forEach((img, i) => {
        const base = i * size * size * 3;
        for (let j = 0; j < img.pixels.length; j++) pixels[base + j] = img.pixels[j]! * state.scale + state.offset;
      });
      const pooled = tf.tidy(() => {
        const act = model.predict(tf.tensor4d(pixels, [chunk.length, size, size, 3])) as tf.Tensor;
        return act.rank === 4 ? act.mean([1, 2]) : act.reshape([chunk.length, -1]);
      });
      out.set(pooled.dataSync() as Float32Array, start * dim);
      pooled.dispose();
    }
    return out;
  };
  return {
    state, dim, featurizeDecoded,
    async featurize(images, where) {
      const decoded = await Promise.all(images.map((bytes, i) => decodeImage(bytes, size, where[i] ?? `image ${i}`)));
      return featurizeDecoded(decoded);
    },
  };
}

function artifactsFor(backbone: ImageState['backbone'], modelDir: string | null | undefined): { artifacts: ModelArtifacts; where: string } {
  if (backbone === 'mobilenet-v2') return { artifacts: mobilenetArtifacts(), where: 'mobilenet-v2 (nsfwjs)' };
  if (!modelDir) throw new UserError('--image-features tfjs-model needs --image-model DIR');
  return { artifacts: directoryArtifacts(modelDir), where: `--image-model ${modelDir}` };
}

/** A new image featuriser (at import). */
export async function createImageFeaturizer(o: ImageFeaturizerOptions): Promise<ImageFeaturizer> {
  const modelDir = o.backbone === 'tfjs-model' ? resolve(o.modelDir ?? '') : null;
  const { artifacts, where } = artifactsFor(o.backbone, o.modelDir);
  const layer = o.layer ?? (o.backbone === 'mobilenet-v2' ? DEFAULT_IMAGE_LAYER : undefined);
  if (!layer) throw new UserError('--image-model needs --image-layer NAME (the layer whose pooled output are the features)');
  const { model, dim, size } = await build(artifacts, layer, where);
  if (o.size !== undefined && o.size !== size) throw new UserError(`${where}: takes ${size} x ${size} images, not ${o.size}`);
  const state: ImageState = {
    name: 'image', version: FEATURIZER_VERSION, backbone: o.backbone, modelDir, layer, size,
    scale: 1 / 255, offset: 0, dim, modelSha256: artifactsSha256(artifacts), decoder: DECODER,
  };
  return featurizer(state, model, o.batch ?? 16);
}

/** The featuriser a saved state describes; refused if the installed weights differ from the ones it recorded. */
export async function openImageFeaturizer(state: ImageState, batch = 16): Promise<ImageFeaturizer> {
  const { artifacts, where } = artifactsFor(state.backbone, state.modelDir);
  const sha = artifactsSha256(artifacts);
  if (sha !== state.modelSha256) throw new UserError(`${where}: weights differ from the ones the features were made with (sha256 ${sha.slice(0, 12)}, recorded ${state.modelSha256.slice(0, 12)}); install the same model or re-import`);
  const { model, dim } = await build(artifacts, state.layer, where);
  if (dim !== state.dim) throw new UserError(`${where}: layer '${state.layer}' gives ${dim}-d features, the state says ${state.dim}`);
  return featurizer(state, model, batch);
}
