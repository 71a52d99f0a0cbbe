// DSCMR: Deep Supervised Cross-Modal Retrieval (Zhen, Hu, Wang, Peng, CVPR 2019), as its official code builds it
// (methods.md 5.2). Per-modality Linear(d -> 2048) + ReLU, a shared Linear(2048 -> 1024) into the common space,
// a shared linear label classifier:
//   L = L_cls + alpha L_sim + beta mean_i |u_i - v_i|_2
// with L_cls the L2-norm classification loss on the classifier outputs and L_sim the label-similarity loss in
// the common space (shared-label counts, not clamped).
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { applyLinear, linear, type Linear } from './layers.js';
import { classificationLoss, labelSimilarityLoss } from './losses.js';
import type { Batch, LossTerms, MethodContext, MethodFactory } from './method.js';
import { pairedViews } from './pairs.js';
import { register } from './registry.js';
import { parseOptionsWith, TwoTower } from './two-tower.js';

const OptionsSchema = z.object({
  hiddenDim: z.number().int().positive(),
  commonDim: z.number().int().positive(),
  alpha: z.number().nonnegative(),
  beta: z.number().nonnegative(),
  modalities: z.array(z.string()).length(2).optional(),
}).strict();
type DscmrOptions = z.infer<typeof OptionsSchema>;

class Dscmr extends TwoTower {
  private readonly branch: [Linear, Linear];
  private readonly shared: Linear;
  private readonly classifier: Linear;

  constructor(ctx: MethodContext, private readonly o: DscmrOptions) {
    super('dscmr', ctx, o.modalities, o.commonDim);
    const [a, b] = this.modalities as [string, string];
    this.branch = [linear(this.p, 'img_net', ctx.dims[a] as number, o.hiddenDim), linear(this.p, 'text_net', ctx.dims[b] as number, o.hiddenDim)];
    this.shared = linear(this.p, 'linearLayer', o.hiddenDim, o.commonDim);
    this.classifier = linear(this.p, 'linearLayer2', o.commonDim, ctx.labelNames.length);
  }

  protected encode(i: 0 | 1, x: tf.Tensor): tf.Tensor {
    return applyLinear(this.shared, tf.relu(applyLinear(this.branch[i], x)));
  }

  losses(batch: Batch): LossTerms {
    const [a, b] = this.modalities as [string, string];
    const u = this.encode(0, batch.x[a] as tf.Tensor);
    const v = this.encode(1, batch.x[b] as tf.Tensor);
    const views = pairedViews(batch, a, b, this.embeddingDim);
    const cls = classificationLoss(applyLinear(this.classifier, u), applyLinear(this.classifier, v), views.labelsA, views.labelsB);
    const uPair = views.pairA(u);
    const vPair = views.pairB(v);
    const sim = labelSimilarityLoss(uPair, vPair, views.pairLabels, views.complete ? undefined : { u, uLabels: views.labelsA, v, vLabels: views.labelsB });
    const inv = views.pairs ? tf.mean(tf.sqrt(tf.sum(tf.square(tf.sub(uPair, vPair)), 1))) : tf.scalar(0);
    const total = tf.addN([cls, tf.mul(sim, this.o.alpha), tf.mul(inv, this.o.beta)]) as tf.Scalar;
    return { total, terms: { cls, sim, inv: inv as tf.Scalar } };
  }

}

const factory: MethodFactory<DscmrOptions> = {
  name: 'dscmr',
  description: 'DSCMR (CVPR 2019): per-modality MLPs into a shared space, shared label classifier, label-similarity and modality-invariance losses',
  defaults: { hiddenDim: 2048, commonDim: 1024, alpha: 1e-3, beta: 1e-1 },
  training: { epochs: 500, batchSize: 100, lr: 1e-4, beta1: 0.5, beta2: 0.999, weightDecay: 0 },
  presets: {
    pascal: { options: { alpha: 1e-3, beta: 1e-1 }, training: { epochs: 500, batchSize: 100, lr: 1e-4 }, note: 'official DSCMR settings for Pascal Sentence' },
    wikipedia: { options: { alpha: 1e-3, beta: 1e-1 }, training: { epochs: 100, batchSize: 100, lr: 1e-4 }, note: 'xmodal: the Pascal settings, 100 epochs' },
  },
  parseOptions: (raw) => parseOptionsWith(OptionsSchema, raw),
  create: (ctx, options) => new Dscmr(ctx, options),
};
register(factory);
