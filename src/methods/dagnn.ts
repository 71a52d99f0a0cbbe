// DAGNN (AAAI 2021) and its TPAMI 2023 extension, P-GNN-CON and I-GNN-CON (methods.md sections 3 and 4).
//
//   u = F_a(x_a), v = F_b(x_b)                         encoders: [BN] Linear(d -> 1024) + ReLU
//   Z = W_agg [H^1 | ... | H^L],  H^l = LeakyReLU(A~ H^{l-1} W^l)   classifiers from the label graph
//   y_a = cos(u, Z), y_b = cos(v, Z)                   label scores
//   G_ab(u) ~ x_b, G_ba(v) ~ x_a; D_a, D_b through gradient reversal     dual GAN
//   AAAI:  L = L_cls + 0.2 L_sim + 0.2 L_adv           (L_sim: DSCMR's label-similarity loss)
//   TPAMI: L = alpha L_cls + L_con + beta L_adv        (L_con: soft multi-label contrastive loss)
//
// P-GNN's adjacency A~ = D A^T D from training-label co-occurrence is fixed; I-GNN learns it from the label
// vectors: A = lambda A0 + (1 - lambda) S, S = mean over k heads of cos(w_p * u_i, w_p * u_j), thresholded.
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { UserError } from '../errors.js';
import { adversarialHead, discriminate, type AdversarialHead } from './adversarial.js';
import { pairedViews } from './pairs.js';
import { cooccurrence, embeddingAdjacency, genA, genAdj, genAdjTensor, headSimilarity } from '../graph/label-graph.js';
import { applyLinear, BatchNorm, linear, type Linear, type Params } from './layers.js';
import { cosineClassificationLoss, labelSimilarityLoss, modalityCrossEntropy, softContrastiveLoss } from './losses.js';
import type { Batch, LossTerms, MethodContext, MethodFactory, TrainingDefaults } from './method.js';
import { register } from './registry.js';
import { parseOptionsWith, TwoTower } from './two-tower.js';

export const DagnnOptionsSchema = z.object({
  /** aaai: no batch norm, linear discriminators, DSCMR loss. tpami: batch norm, ReLU discriminators, contrastive loss. */
  variant: z.enum(['aaai', 'tpami']),
  /** pgnn: co-occurrence graph; ignn: learned graph; none: free classifiers (ablation without the label graph). */
  graph: z.enum(['pgnn', 'ignn', 'none']),
  commonDim: z.number().int().positive(),
  layers: z.number().int().min(1),
  threshold: z.number().min(0).max(1),
  heads: z.number().int().min(1),
  lambda: z.number().min(0).max(1),
  /** Width of learned label inputs when the data set has no label vectors (P-GNN only). */
  labelInputDim: z.number().int().positive(),
  alpha: z.number().nonnegative(),
  beta: z.number().nonnegative(),
  /** Weight of the AAAI label-similarity term. */
  simWeight: z.number().nonnegative(),
  tau: z.number().positive(),
  gamma: z.number().nonnegative(),
  lseFactor: z.number().positive(),
  labelSimilarity: z.enum(['binary', 'jaccard']),
  /**
   * Label smoothing of the classification term's targets: (1 - e) y + e / C (Szegedy et al. 2016); 0 (default) is
   * the official loss. The contrastive and adversarial terms keep the hard labels.
   */
  labelSmoothing: z.number().min(0).max(1),
  /**
   * Hidden widths of a discriminator on d-dimensional features: official, floor(d/4) and floor(d/16) as the
   * official code has them, so features under 16-d get a zero-width layer and their discriminator only learns a
   * constant (Wikipedia's 10-d text); at-least-one widens such layers to one unit so the discriminator works.
   */
  discriminatorWidths: z.enum(['official', 'at-least-one']),
  /** Which two of the data set's modalities, in order (the first plays "image"); default its first two. */
  modalities: z.array(z.string()).length(2).optional(),
}).strict();

export type DagnnOptions = z.infer<typeof DagnnOptionsSchema>;

function parse(raw: Record<string, unknown>): DagnnOptions {
  return parseOptionsWith(DagnnOptionsSchema, raw);
}

interface Encoder { bn: BatchNorm | undefined; fc: Linear }
interface Generator { bn: BatchNorm | undefined; fc1: Linear; fc2: Linear; act: 'relu' | 'leaky' }

class Dagnn extends TwoTower {
  private readonly enc: [Encoder, Encoder];
  private readonly gen: [Generator, Generator];
  private readonly disc: [AdversarialHead, AdversarialHead];
  /** The C inter-dependent classifiers (C x commonDim): from the label graph, or free (ablation). */
  readonly classifiers: () => tf.Tensor;
  private readonly graphArtifacts: Record<string, unknown> = {};

  constructor(name: string, ctx: MethodContext, private o: DagnnOptions) {
    super(name, ctx, o.modalities, o.commonDim);
    const [da, db] = this.modalities.map((m) => ctx.dims[m] as number) as [number, number];
    const d = o.commonDim;
    const bn = o.variant === 'tpami';
    const p = this.p;
    const C = ctx.labelNames.length;
    const encoder = (prefix: string, dim: number): Encoder => ({ bn: bn ? new BatchNorm(p, `${prefix}.bn`, dim) : undefined, fc: linear(p, `${prefix}.denseL1`, dim, d) });
    this.enc = [encoder('img_net', da), encoder('text_net', db)];
    // G_ab maps the first modality's common feature to the second modality's space (TextDec), G_ba the reverse (ImgDec).
    this.gen = [
      { bn: bn ? new BatchNorm(p, 'img2text_net.bn', d) : undefined, fc1: linear(p, 'img2text_net.denseL1', d, 512), fc2: linear(p, 'img2text_net.denseL2', 512, db), act: 'leaky' },
      { bn: bn ? new BatchNorm(p, 'text2img_net.bn', d) : undefined, fc1: linear(p, 'text2img_net.denseL1', d, 2048), fc2: linear(p, 'text2img_net.denseL2', 2048, da), act: 'relu' },
    ];
    // AAAI-era discriminators have no activations; the TPAMI ones put ReLU after the first two layers.
    const discriminator = (prefix: string, dim: number): AdversarialHead => {
      const minWidth = o.discriminatorWidths === 'official' ? 0 : 1;
      const widths = [dim, Math.max(minWidth, Math.floor(dim / 4)), Math.max(minWidth, Math.floor(dim / 16)), 2];
      return adversarialHead(p, [1, 2, 3].map((l) => `${prefix}.denseL${l}`), widths, bn ? 'relu' : 'none', bn ? `${prefix}.bn` : undefined);
    };
    this.disc = [discriminator('img_md_net', da), discriminator('text_md_net', db)];

    this.classifiers = o.graph === 'none' ? freeClassifiers(p, C, d, this.graphArtifacts) : graphClassifiers(p, ctx, o, this.graphArtifacts);
  }

  override artifacts(): Record<string, unknown> {
    return this.graphArtifacts;
  }

  protected encode(i: 0 | 1, x: tf.Tensor, training = false): tf.Tensor {
    const e = this.enc[i];
    return tf.relu(applyLinear(e.fc, e.bn ? e.bn.apply(x, training) : x));
  }

  /** G_ab (i = 0: first modality's embedding to second modality's features) or G_ba (i = 1). */
  private generator(i: 0 | 1, h: tf.Tensor, training = true): tf.Tensor {
    const g = this.gen[i];
    const act = (t: tf.Tensor) => (g.act === 'relu' ? tf.relu(t) : tf.leakyRelu(t, 0.2));
    const x = g.bn ? g.bn.apply(h, training) : h;
    return act(applyLinear(g.fc2, act(applyLinear(g.fc1, x))));
  }

  beginReconstruction(argOrder: 'paper' | 'official-code', normStatistics: 'update' | 'frozen'): void {
    const norms = [...this.enc, ...this.gen, ...this.disc].map((part) => part.bn).filter((bn) => bn !== undefined);
    for (const bn of norms) bn.trackStatistics = normStatistics !== 'frozen';
    // main.py calls train_model_incomplete(..., temp, gamma, alpha, beta) where the function expects (alpha, beta,
    // temp, gamma): the class weight becomes tau, the adversarial weight gamma, tau alpha and gamma beta.
    const o = this.o;
    if (argOrder === 'official-code') this.o = parse({ ...o, alpha: o.tau, beta: o.gamma, tau: o.alpha, gamma: o.beta });
  }

  /** Modal reconstruction (methods.md 4.5): x_to = G(F_from(x_from)) in evaluation mode. */
  generate(from: string, to: string, x: tf.Tensor): tf.Tensor {
    const i = this.modalities.indexOf(from);
    if (i < 0 || this.modalities.indexOf(to) !== 1 - i) throw new UserError(`${this.name} generates between ${this.modalities.join(' and ')}, not ${from} -> ${to}`);
    return tf.tidy(() => this.generator(i as 0 | 1, this.encode(i as 0 | 1, x, false), false));
  }

  losses(batch: Batch): LossTerms {
    const [ma, mb] = this.modalities as [string, string];
    const xa = batch.x[ma] as tf.Tensor;
    const xb = batch.x[mb] as tf.Tensor;
    // Each modality's rows are the batch items that have it. Cross-modal terms use the items that have both;
    // per-modality terms use every item that has that modality.
    const u = this.encode(0, xa, true);
    const v = this.encode(1, xb, true);
    const views = pairedViews(batch, ma, mb, this.embeddingDim);
    const { labelsA, labelsB, pairLabels } = views;
    const uPair = views.pairA(u);
    const vPair = views.pairB(v);
    const intraViews = views.complete ? undefined : { u, uLabels: labelsA, v, vLabels: labelsB };
    const Z = this.classifiers();
    const e = this.o.labelSmoothing;
    const smooth = (y: tf.Tensor) => (e > 0 ? tf.add(tf.mul(y, 1 - e), e / Z.shape[0]!) : y);
    const cls = cosineClassificationLoss(u, v, Z, smooth(labelsA), smooth(labelsB));
    // D_a: real first-modality features are class 1, generated ones class 0; D_b: generated class 1, real class 0.
    const [Da, Db] = this.disc.map((head) => (x: tf.Tensor) => discriminate(head, x, 1)) as [(x: tf.Tensor) => tf.Tensor, (x: tf.Tensor) => tf.Tensor];
    const adv = tf.addN([
      ...(xa.shape[0] ? [modalityCrossEntropy(Da(xa), 1), modalityCrossEntropy(Db(this.generator(0, u)), 1)] : []),
      ...(xb.shape[0] ? [modalityCrossEntropy(Da(this.generator(1, v)), 0), modalityCrossEntropy(Db(xb), 0)] : []),
    ]) as tf.Scalar;
    if (this.o.variant === 'aaai') {
      const sim = labelSimilarityLoss(uPair, vPair, pairLabels, intraViews);
      const total = tf.addN([cls, tf.mul(sim, this.o.simWeight), tf.mul(adv, this.o.beta)]) as tf.Scalar;
      return { total, terms: { cls, sim, adv } };
    }
    const con = softContrastiveLoss(uPair, vPair, pairLabels, { tau: this.o.tau, gamma: this.o.gamma, lseFactor: this.o.lseFactor, labelSimilarity: this.o.labelSimilarity }, intraViews);
    const total = tf.addN([tf.mul(cls, this.o.alpha), con, tf.mul(adv, this.o.beta)]) as tf.Scalar;
    return { total, terms: { cls, con, adv } };
  }

}

// The label graph, one of three strategies for the classifiers Z (parameters created in this order, as before):
//   free: Z is a C x d parameter (ablation without a graph);
//   P-GNN: Z = W_agg [H^1 | ... | H^L] over the fixed co-occurrence graph;
//   I-GNN: the same network over a graph re-learned from the label vectors at every forward pass.

function freeClassifiers(p: Params, C: number, d: number, artifacts: Record<string, unknown>): () => tf.Tensor {
  const bound = 1 / Math.sqrt(d);
  const Z = p.uniform('classifiers', [C, d], -bound, bound);
  artifacts.graph = 'none: classifiers are free parameters';
  return () => Z;
}

function graphClassifiers(p: Params, ctx: MethodContext, o: DagnnOptions, artifacts: Record<string, unknown>): () => tf.Tensor {
  const C = ctx.labelNames.length;
  const d = o.commonDim;
  // Without label-name vectors both graphs start from learnable random U(0,1) vectors (labelInputDim wide).
  const emb = ctx.labelEmbeddings;
  const inDim = emb ? emb.dim : o.labelInputDim;
  const inputs = emb
    ? p.variable('inp', emb.data, [C, emb.dim], o.graph === 'ignn') // P-GNN keeps given label vectors frozen
    : p.uniform('inp', [C, inDim], 0, 1); // torch.rand, learnable, as the official P-GNN without embeddings
  const bound = 1 / Math.sqrt(d); // the official GCN initialises from its output width
  const gcn = Array.from({ length: o.layers }, (_, l) => p.uniform(`lrn_${l}.weight`, [l === 0 ? inDim : d, d], -bound, bound));
  const aggregation = linear(p, 'hypo', o.layers * d, d);
  artifacts.labelEmbeddings = emb ? { source: emb.source, dim: emb.dim } : { source: `random U(0,1), ${inDim}-d, learned` };
  const adjacency = o.graph === 'pgnn' ? fixedAdjacency(p, ctx, o, artifacts) : learnedAdjacency(p, o, emb ? emb.data : (inputs.dataSync() as Float32Array), inputs, artifacts);
  if (emb) artifacts.labelVectors = Array.from(emb.data);
  return () => {
    const adj = adjacency();
    let h: tf.Tensor = inputs;
    const hops = gcn.map((w) => (h = tf.leakyRelu(tf.matMul(adj, tf.matMul(h, w)), 0.2)));
    return applyLinear(aggregation, tf.concat(hops, 1));
  };
}

/** P-GNN: D A^T D of the thresholded co-occurrence graph of the training labels, fixed. */
function fixedAdjacency(p: Params, ctx: MethodContext, o: DagnnOptions, artifacts: Record<string, unknown>): () => tf.Tensor {
  const C = ctx.labelNames.length;
  const co = cooccurrence(ctx.trainLabels, C);
  const A = genA(co, o.threshold);
  const adj = genAdj(A, C);
  const fixed = p.constant('adj', Float32Array.from(adj), [C, C]);
  Object.assign(artifacts, { graph: 'pgnn: label co-occurrence in the training split', cooccurrence: Array.from(co.adj), nums: Array.from(co.nums), A: Array.from(A), adjacency: Array.from(adj) });
  return () => fixed;
}

/**
 * I-GNN: A = lambda A0 + (1 - lambda) S, S = mean over k heads of cos(w_k * u_i, w_k * u_j) with entries below the
 * threshold cut, normalised as D A^T D at every forward pass, so the label vectors and head weights learn through it.
 * A0 comes from the initial vectors: the given ones, or the random start that the model then learns from.
 */
function learnedAdjacency(p: Params, o: DagnnOptions, initial: Float32Array, inputs: tf.Variable, artifacts: Record<string, unknown>): () => tf.Tensor {
  const C = inputs.shape[0] as number;
  const A0 = embeddingAdjacency(initial, C, o.threshold);
  const a0 = p.constant('A0', Float32Array.from(A0), [C, C]);
  const headWeights = Array.from({ length: o.heads }, (_, k) => p.uniform(`W_${k}`, [inputs.shape[1] as number], 0.3, 0.6));
  Object.assign(artifacts, { graph: 'ignn: label-vector similarity A0 plus a learned part', A0: Array.from(A0) });
  return () => {
    const S = headSimilarity(inputs, headWeights);
    // Entries below the threshold are cut (zero value and gradient); the mask itself is not differentiated.
    const mask = tf.tensor(Float32Array.from(S.dataSync(), (v) => (v < o.threshold ? 0 : 1)), S.shape);
    return genAdjTensor(tf.add(tf.mul(a0, o.lambda), tf.mul(tf.mul(S, mask), 1 - o.lambda)));
  };
}

const baseOptions: DagnnOptions = {
  variant: 'tpami', graph: 'ignn', commonDim: 1024, layers: 5, threshold: 0.4, heads: 8, lambda: 0.5, labelInputDim: 300,
  alpha: 0.5, beta: 2, simWeight: 0.2, tau: 0.22, gamma: 0.14, lseFactor: 1.06, labelSimilarity: 'binary',
  discriminatorWidths: 'official', labelSmoothing: 0,
};
const officialTraining: TrainingDefaults = { epochs: 40, batchSize: 100, lr: 5e-5, beta1: 0.5, beta2: 0.999, weightDecay: 0 };

// TPAMI main.py per data set (methods.md 4.4); the Wikipedia preset is ours, tuned on a validation split.
const tpamiPresets = {
  mirflickr: { options: { alpha: 0.5, beta: 2, tau: 0.22, gamma: 0.14, layers: 5 }, training: { batchSize: 100, epochs: 40 }, note: 'official TPAMI settings for MIRFlickr-25K' },
  'nus-wide': { options: { alpha: 0.8, beta: 0.2, tau: 0.22, gamma: 0.14, layers: 5 }, training: { batchSize: 2048, epochs: 40 }, note: 'official TPAMI settings for NUS-WIDE-TC21' },
  mscoco: { options: { alpha: 2.8, beta: 0.2, tau: 0.2, gamma: 0.14, layers: 5 }, training: { batchSize: 512, epochs: 40 }, note: 'official TPAMI settings for MS-COCO' },
  // Tuned on a validation split carved from Wikipedia train (seed 0): learning rates 5e-5, 2e-4, 1e-3, tau 0.1,
  // beta 0.2, batch 50 were tried; 2e-4 with the MIRFlickr loss weights peaked around epoch 40 on validation.
  wikipedia: { options: { alpha: 0.5, beta: 2, tau: 0.22, gamma: 0.14, layers: 5 }, training: { batchSize: 100, epochs: 60, lr: 2e-4 }, note: 'xmodal: MIRFlickr loss weights, lr 2e-4, 60 epochs, tuned on a validation split of Wikipedia train' },
};

function family(name: string, description: string, defaults: DagnnOptions, presets: MethodFactory<DagnnOptions>['presets']): MethodFactory<DagnnOptions> {
  return { name, description, defaults, training: officialTraining, presets, parseOptions: parse, create: (ctx, options) => new Dagnn(name, ctx, options) };
}

register(family('dagnn', 'DAGNN (AAAI 2021): P-GNN label graph, cosine classifiers, DSCMR label-similarity loss, dual GAN',
  { ...baseOptions, variant: 'aaai', graph: 'pgnn', alpha: 1, beta: 0.2 }, {
    mirflickr: { options: { layers: 5 }, training: { batchSize: 100, epochs: 40 }, note: 'AAAI-era settings for MIRFlickr-25K' },
    'nus-wide': { options: { layers: 4 }, training: { batchSize: 1024, epochs: 40 }, note: 'AAAI-era settings for NUS-WIDE' },
    mscoco: { options: { layers: 4 }, training: { batchSize: 1024, epochs: 40 }, note: 'AAAI-era settings for MS-COCO' },
    wikipedia: { options: { layers: 5 }, training: { batchSize: 100, epochs: 60, lr: 2e-4 }, note: 'xmodal: AAAI loss weights, lr 2e-4, 60 epochs (the TPAMI Wikipedia tuning)' },
  }));
register(family('pgnn-con', 'P-GNN-CON (TPAMI 2023): co-occurrence label graph, soft multi-label contrastive loss, batch norm, dual GAN',
  { ...baseOptions, graph: 'pgnn' }, tpamiPresets));
register(family('ignn-con', 'I-GNN-CON (TPAMI 2023): learned label graph from label vectors, soft multi-label contrastive loss, batch norm, dual GAN',
  { ...baseOptions, graph: 'ignn' }, {
    ...tpamiPresets,
    // Tuned on the validation split (20% of train, seed 0) of flipkart-products imported with xmodal's own
    // featurisers (mobilenet-v2 block_16_expand_relu, tfidf of name + description), 100 epochs each:
    // lr 2e-4 / 1e-3 / 5e-4, tau 0.22 / 0.1, beta 2 / 0.2; lr 1e-3, tau 0.1, beta 0.2 had the best validation
    // mAP (0.7536, epoch 11), so 40 epochs (docs/benchmarks.md, "Raw media").
    products: { options: { alpha: 0.5, beta: 0.2, tau: 0.1, gamma: 0.14, layers: 5 }, training: { batchSize: 100, epochs: 40, lr: 1e-3 }, note: 'xmodal: product photos + descriptions featurised by xmodal (import media), lr 1e-3, tau 0.1, beta 0.2, 40 epochs, tuned on a validation split of flipkart-products' },
  }));
