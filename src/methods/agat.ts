// AGAT: one model for K modalities (after "Adversarial Graph Attention Network for Multi-modal Cross-Modal
// Retrieval", ICBK 2019). Only the paper's abstract is public (methods.md 6), so every choice below is xmodal's
// own design of the four parts the abstract names (docs/methods.md, "agat"):
//
//   SAT   h_k = MLP(mean_t LN(T + MHSA(T))),  T = tokens(x_k) W_tok + P      (per modality, x_k cut into m tokens)
//   GAT   e_ij = LeakyReLU(a^T [W h_i || W h_j]),  alpha_ij = softmax_j over the item's present modalities,
//         h'_i = sum_j alpha_ij h_j;  aggregation c = normalise(mean over present i of h'_i)
//   MGAN  D(c) = real, D(h_k) = fake, through gradient reversal: every h_k is pulled toward its item's c
//   class L_in = mean |h - mu_y|^2 (running centres mu), L_between = mean over label pairs max(0, m - |mû_y - mû_y'|)^2
//
//   L = w_in L_in + w_between L_between + w_adv L_adv
//
// The values of the graph attention are the embeddings themselves (no value projection), so the aggregation is
// a convex combination of the item's embeddings: it lives in the common space, the discriminator compares like
// with like, an item with one modality passes through unchanged, and a multi-modal query can be matched against
// single-modality embeddings. Embeddings are L2-normalised (retrieval is by cosine).
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { gatherRows, l2Normalize, scatterRows } from '../engine/ops.js';
import { UserError } from '../errors.js';
import { adversarialHead, discriminate, type AdversarialHead } from './adversarial.js';
import { applyLinear, BatchNorm, LayerNorm, linear, type Linear } from './layers.js';
import { modalityCrossEntropy } from './losses.js';
import type { Batch, LossTerms, Method, MethodContext, MethodFactory } from './method.js';
import { register } from './registry.js';
import { ParamsModel, parseOptionsWith } from './two-tower.js';

const OptionsSchema = z.object({
  /** The modalities to embed (default: all of the data set's, at least two). */
  modalities: z.array(z.string()).min(2).optional(),
  commonDim: z.number().int().positive(),
  /** Tokens each input vector is cut into (the last one zero-padded). */
  tokens: z.number().int().positive(),
  tokenDim: z.number().int().positive(),
  heads: z.number().int().positive(),
  hiddenDim: z.number().int().positive(),
  gatLayers: z.number().int().positive(),
  attentionDim: z.number().int().positive(),
  discriminatorDim: z.number().int().positive(),
  /** Batch norm on each input (running statistics at evaluation), so raw features of any scale work. */
  inputNorm: z.boolean(),
  within: z.number().nonnegative(),
  between: z.number().nonnegative(),
  margin: z.number().positive(),
  adversarial: z.number().nonnegative(),
  /** Weight of a new batch's centre in the running class centres. */
  centreMomentum: z.number().gt(0).max(1),
}).strict().refine((o) => o.tokenDim % o.heads === 0, { message: 'tokenDim must be a multiple of heads', path: ['tokenDim'] });
export type AgatOptions = z.infer<typeof OptionsSchema>;

interface Encoder {
  norm: BatchNorm | undefined;
  width: number;
  tokenProj: Linear;
  position: tf.Variable;
  qkv: Linear;
  out: Linear;
  ln: LayerNorm;
  mlp: [Linear, Linear];
}

interface GatLayer {
  w: tf.Variable;
  aSelf: tf.Variable;
  aOther: tf.Variable;
}

/**
 * Graph attention over each item's modalities. `h` is B x K x d (rows of absent modalities arbitrary), `present`
 * B x K (1 present, 0 absent). Returns the normalised aggregation (B x d) and each layer's attention (B x K x K,
 * rows sum to one over the item's present modalities).
 */
export function graphAttention(h: tf.Tensor3D, present: tf.Tensor2D, layers: GatLayer[]): { aggregate: tf.Tensor2D; attention: tf.Tensor3D[] } {
  const [B, K, d] = h.shape;
  const blocked = tf.mul(tf.sub(1, tf.reshape(present, [B, 1, K])), -1e9);
  const attention: tf.Tensor3D[] = [];
  let nodes = h;
  for (const layer of layers) {
    const z = tf.matMul(tf.reshape(nodes, [B * K, d]), layer.w);
    const self = tf.reshape(tf.matMul(z, layer.aSelf), [B, K, 1]);
    const other = tf.reshape(tf.matMul(z, layer.aOther), [B, 1, K]);
    const alpha = tf.softmax(tf.add(tf.leakyRelu(tf.add(self, other), 0.2), blocked)) as tf.Tensor3D;
    attention.push(alpha);
    nodes = tf.matMul(alpha, nodes);
  }
  const weights = tf.div(present, tf.maximum(tf.sum(present, 1, true), 1));
  const mean = tf.reshape(tf.matMul(tf.reshape(weights, [B, 1, K]), nodes), [B, d]) as tf.Tensor2D;
  return { aggregate: l2Normalize(mean), attention };
}

class Agat extends ParamsModel implements Method {
  readonly name = 'agat';
  readonly modalities: string[];
  readonly embeddingDim: number;
  private readonly encoders: Encoder[];
  private readonly gat: GatLayer[];
  private readonly disc: AdversarialHead;
  private readonly centres: tf.Variable;
  private readonly seen: tf.Variable;

  constructor(ctx: MethodContext, private readonly o: AgatOptions) {
    super(ctx.seed);
    const available = Object.keys(ctx.dims);
    this.modalities = o.modalities ?? available;
    const unknown = this.modalities.find((m) => !(m in ctx.dims));
    if (unknown !== undefined) throw new UserError(`agat: no modality '${unknown}' in the data set (${available.join(', ')})`);
    if (this.modalities.length < 2) throw new UserError(`agat needs at least two modalities (the data set has ${available.join(', ') || 'none'})`);
    this.embeddingDim = o.commonDim;
    const h = o.tokenDim;
    this.encoders = this.modalities.map((m, k) => {
      const dim = ctx.dims[m] as number;
      const width = Math.ceil(dim / o.tokens);
      const prefix = `sat${k}`;
      return {
        norm: o.inputNorm ? new BatchNorm(this.p, `${prefix}.input_bn`, dim) : undefined,
        width,
        tokenProj: linear(this.p, `${prefix}.token`, width, h),
        position: this.p.uniform(`${prefix}.position`, [o.tokens, h], -0.02, 0.02),
        qkv: linear(this.p, `${prefix}.qkv`, h, 3 * h),
        out: linear(this.p, `${prefix}.attn_out`, h, h),
        ln: new LayerNorm(this.p, `${prefix}.ln`, h),
        mlp: [linear(this.p, `${prefix}.mlp1`, h, o.hiddenDim), linear(this.p, `${prefix}.mlp2`, o.hiddenDim, o.commonDim)],
      };
    });
    const bound = 1 / Math.sqrt(o.commonDim);
    const aBound = 1 / Math.sqrt(o.attentionDim);
    this.gat = Array.from({ length: o.gatLayers }, (_, l) => ({
      w: this.p.uniform(`gat${l}.weight`, [o.commonDim, o.attentionDim], -bound, bound),
      aSelf: this.p.uniform(`gat${l}.a_self`, [o.attentionDim, 1], -aBound, aBound),
      aOther: this.p.uniform(`gat${l}.a_other`, [o.attentionDim, 1], -aBound, aBound),
    }));
    this.disc = adversarialHead(this.p, ['disc1', 'disc2'], [o.commonDim, o.discriminatorDim, 2], 'leaky');
    const C = ctx.labelNames.length;
    this.centres = this.p.constant('class_centres', new Float32Array(C * o.commonDim), [C, o.commonDim]);
    this.seen = this.p.constant('class_seen', new Float32Array(C), [C]);
  }

  /** SAT: tokens, one multi-head self-attention block with residual and layer norm, mean pool, MLP; unit norm. */
  private encode(k: number, x: tf.Tensor, training: boolean): tf.Tensor2D {
    const e = this.encoders[k] as Encoder;
    const { tokens: m, tokenDim: h, heads: H } = this.o;
    const n = x.shape[0] as number;
    const dh = h / H;
    const normed = e.norm ? e.norm.apply(x, training) : x;
    const padded = tf.pad(normed, [[0, 0], [0, m * e.width - (x.shape[1] as number)]]);
    const tokens = tf.add(tf.reshape(applyLinear(e.tokenProj, tf.reshape(padded, [n * m, e.width])), [n, m, h]), e.position);
    const qkv = applyLinear(e.qkv, tf.reshape(tokens, [n * m, h]));
    const heads = (part: number) => tf.reshape(tf.transpose(tf.reshape(tf.slice(qkv, [0, part * h], [-1, h]), [n, m, H, dh]), [0, 2, 1, 3]), [n * H, m, dh]);
    const att = tf.softmax(tf.mul(tf.matMul(heads(0), heads(1), false, true), 1 / Math.sqrt(dh)));
    const mixed = tf.reshape(tf.transpose(tf.reshape(tf.matMul(att, heads(2)), [n, H, m, dh]), [0, 2, 1, 3]), [n * m, h]);
    const block = e.ln.apply(tf.add(tf.reshape(tokens, [n * m, h]), applyLinear(e.out, mixed)));
    const pooled = tf.mean(tf.reshape(block, [n, m, h]), 1);
    return l2Normalize(applyLinear(e.mlp[1], tf.relu(applyLinear(e.mlp[0], pooled))) as tf.Tensor2D);
  }

  /** Mean over rows and their labels (weighted by membership) of |h - mu_y|^2. */
  private withinClass(h: tf.Tensor, weights: tf.Tensor): tf.Scalar {
    const mu = this.centres;
    const sq = tf.add(tf.sub(tf.sum(tf.square(h), 1, true), tf.mul(tf.matMul(h, mu, false, true), 2)), tf.reshape(tf.sum(tf.square(mu), 1), [1, -1]));
    return tf.div(tf.sum(tf.mul(weights, sq)), Math.max(h.shape[0] as number, 1)) as tf.Scalar;
  }

  losses(batch: Batch): LossTerms {
    const B = batch.size;
    const C = batch.labels.shape[1] as number;
    const embedded: tf.Tensor2D[] = [];
    const weightsOf: tf.Tensor[] = [];
    const dense: tf.Tensor2D[] = [];
    const presence = new Float32Array(B * this.modalities.length);
    this.modalities.forEach((m, k) => {
      const rows = batch.rows[m] as Int32Array;
      if (!rows.length) {
        dense.push(tf.zeros([B, this.embeddingDim]));
        return;
      }
      const hk = this.encode(k, batch.x[m] as tf.Tensor, true);
      const labels = rows.length === B ? batch.labels : tf.gather(batch.labels, rows);
      embedded.push(hk);
      weightsOf.push(tf.div(labels, tf.maximum(tf.sum(labels, 1, true), 1)));
      dense.push(rows.length === B ? hk : scatterRows(hk, rows, B));
      for (const r of rows) presence[r * this.modalities.length + k] = 1;
    });
    const present = tf.tensor2d(presence, [B, this.modalities.length]);
    const { aggregate } = graphAttention(tf.stack(dense, 1) as tf.Tensor3D, present, this.gat);

    // Class structure, on the modality embeddings and the aggregation.
    const all = tf.concat([...embedded, aggregate]);
    const itemWeights = tf.div(batch.labels, tf.maximum(tf.sum(batch.labels, 1, true), 1));
    const weights = tf.concat([...weightsOf, itemWeights]);
    const within = this.withinClass(all, weights);
    const mass = tf.sum(weights, 0);
    const batchCentres = tf.div(tf.matMul(weights, all, true, false), tf.reshape(tf.maximum(mass, 1e-12), [C, 1]));
    const labelPresent = tf.cast(tf.greater(mass, 0), 'float32');
    const pairs = tf.mul(tf.mul(tf.reshape(labelPresent, [C, 1]), tf.reshape(labelPresent, [1, C])), tf.sub(1, tf.eye(C)));
    const sqNorms = tf.sum(tf.square(batchCentres), 1, true);
    const distance = tf.sqrt(tf.maximum(tf.sub(tf.add(sqNorms, tf.transpose(sqNorms)), tf.mul(tf.matMul(batchCentres, batchCentres, false, true), 2)), 1e-12));
    const between = tf.div(tf.sum(tf.mul(tf.square(tf.relu(tf.sub(this.o.margin, distance))), pairs)), tf.maximum(tf.sum(pairs), 1)) as tf.Scalar;
    this.updateCentres(batchCentres, labelPresent);

    // MGAN: aggregations of items with two or more modalities are "real", every modality embedding "fake".
    const multi: number[] = [];
    for (let i = 0; i < B; i++) {
      let count = 0;
      for (let k = 0; k < this.modalities.length; k++) count += presence[i * this.modalities.length + k] as number;
      if (count >= 2) multi.push(i);
    }
    const fakes = embedded.map((h) => modalityCrossEntropy(discriminate(this.disc, h, 1), 0));
    const adversarial = multi.length
      ? tf.add(modalityCrossEntropy(discriminate(this.disc, multi.length === B ? aggregate : gatherRows(aggregate, multi), 1), 1), tf.div(tf.addN(fakes), fakes.length)) as tf.Scalar
      : tf.scalar(0);
    const total = tf.addN([tf.mul(within, this.o.within), tf.mul(between, this.o.between), tf.mul(adversarial, this.o.adversarial)]) as tf.Scalar;
    return { total, terms: { within, between, adv: adversarial } };
  }

  /** Running class centres (no gradient): a label's first batch sets its centre, later ones move it. */
  private updateCentres(batchCentres: tf.Tensor, labelPresent: tf.Tensor): void {
    const momentum = this.o.centreMomentum;
    const next = tf.keep(tf.tidy(() => {
      const rate = tf.reshape(tf.mul(labelPresent, tf.where(tf.greater(this.seen, 0), tf.fill(this.seen.shape, momentum), tf.onesLike(this.seen))), [-1, 1]);
      return tf.add(tf.mul(this.centres, tf.sub(1, rate)), tf.mul(batchCentres, rate));
    }));
    const seen = tf.keep(tf.tidy(() => tf.maximum(this.seen, labelPresent)));
    this.p.defer(() => {
      this.centres.assign(next);
      this.seen.assign(seen);
      tf.dispose([next, seen]);
    });
  }

  embed(modality: string, x: tf.Tensor): tf.Tensor {
    const k = this.modalities.indexOf(modality);
    if (k < 0) throw new UserError(`agat embeds ${this.modalities.join(', ')}, not '${modality}'`);
    return tf.tidy(() => this.encode(k, x, false));
  }

  /** Aggregation of items from their modality embeddings (rows of absent modalities are ignored). */
  aggregate(embeddings: Record<string, tf.Tensor>, present: Record<string, Uint8Array>): tf.Tensor {
    return tf.tidy(() => {
      const unknown = Object.keys(embeddings).find((m) => !this.modalities.includes(m));
      if (unknown !== undefined) throw new UserError(`agat aggregates ${this.modalities.join(', ')}, not '${unknown}'`);
      const first = Object.values(embeddings)[0];
      if (!first) throw new UserError('agat: give at least one modality to aggregate');
      const B = first.shape[0] as number;
      const mask = new Float32Array(B * this.modalities.length);
      const dense = this.modalities.map((m, k) => {
        const h = embeddings[m];
        if (!h) return tf.zeros([B, this.embeddingDim]);
        const here = present[m];
        for (let i = 0; i < B; i++) mask[i * this.modalities.length + k] = here ? (here[i] as number) : 1;
        return h;
      });
      return graphAttention(tf.stack(dense, 1) as tf.Tensor3D, tf.tensor2d(mask, [B, this.modalities.length]), this.gat).aggregate;
    });
  }

  override artifacts(): Record<string, unknown> {
    return { modalities: this.modalities, tokenWidths: Object.fromEntries(this.modalities.map((m, k) => [m, this.encoders[k]?.width])) };
  }
}

const factory: MethodFactory<AgatOptions> = {
  name: 'agat',
  description: 'AGAT (ICBK 2019, xmodal design): one model for K modalities; self-attention encoders, graph attention over an item\'s modalities, a multi-modal GAN, class-centre compactness and margins',
  defaults: {
    commonDim: 256, tokens: 8, tokenDim: 64, heads: 4, hiddenDim: 512, gatLayers: 1, attentionDim: 64, discriminatorDim: 256,
    inputNorm: true, within: 1, between: 1, margin: 1, adversarial: 0.1, centreMomentum: 0.1,
  },
  training: { epochs: 100, batchSize: 100, lr: 1e-3, beta1: 0.9, beta2: 0.999, weightDecay: 0 },
  presets: {
    'uci-mfeat': {
      options: { margin: 1.4 },
      training: { lr: 2e-3, epochs: 100 },
      note: 'xmodal: margin 1.4 (about the distance of orthogonal unit vectors), Adam 2e-3, 100 epochs; chosen on a validation split of UCI Multiple Features train',
    },
    wikipedia: {
      options: { margin: 1.4, tokens: 2 },
      training: { lr: 1e-3, epochs: 60 },
      note: 'xmodal: 2 tokens (the text is 10-d topic proportions), margin 1.4, 60 epochs; chosen on a validation split of Wikipedia train',
    },
  },
  parseOptions: (raw) => parseOptionsWith(OptionsSchema, raw),
  create: (ctx, options) => new Agat(ctx, options),
};
register(factory);
