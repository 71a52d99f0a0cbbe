// ACMR: Adversarial Cross-Modal Retrieval (Wang, Yang, Xu, Hanjalic, Shen, ACM MM 2017), after its TF1 demo
// (methods.md 5.3). Feature projectors (tanh MLPs) into a small common space; a shared label classifier; a
// modality classifier trained through gradient reversal with lambda_p = 2 / (1 + exp(-10 p)) - 1:
//   L = labelWeight L_label + |E_a - E_b|_F + dissimilarWeight L_dis + L_modality
// L_dis pushes pairs without a shared label at least `margin` apart (squared distance, hinge).
// Ours where the demo is silent or single-label: multi-label targets are the normalised label vector of a
// softmax cross-entropy, and one optimiser plays the minimax through the reversal (the demo alternates two).
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { adversarialHead, discriminate, reversalSchedule, type AdversarialHead } from './adversarial.js';
import { applyLinear, linear, type Linear } from './layers.js';
import { modalityCrossEntropy } from './losses.js';
import type { Batch, LossTerms, MethodContext, MethodFactory, StepContext } from './method.js';
import { pairedViews } from './pairs.js';
import { register } from './registry.js';
import { parseOptionsWith, TwoTower } from './two-tower.js';

const OptionsSchema = z.object({
  hiddenA: z.number().int().positive(),
  hiddenB: z.number().int().positive(),
  commonDim: z.number().int().positive(),
  labelWeight: z.number().nonnegative(),
  dissimilarWeight: z.number().nonnegative(),
  margin: z.number().nonnegative(),
  modalities: z.array(z.string()).length(2).optional(),
}).strict();
type AcmrOptions = z.infer<typeof OptionsSchema>;

class Acmr extends TwoTower {
  private readonly proj: [[Linear, Linear], [Linear, Linear]];
  private readonly classifier: Linear;
  private readonly domain: AdversarialHead;

  constructor(ctx: MethodContext, private readonly o: AcmrOptions) {
    super('acmr', ctx, o.modalities, o.commonDim);
    const [a, b] = this.modalities as [string, string];
    this.proj = [
      [linear(this.p, 'img.fc1', ctx.dims[a] as number, o.hiddenA), linear(this.p, 'img.fc2', o.hiddenA, o.commonDim)],
      [linear(this.p, 'txt.fc1', ctx.dims[b] as number, o.hiddenB), linear(this.p, 'txt.fc2', o.hiddenB, o.commonDim)],
    ];
    this.classifier = linear(this.p, 'label_classifier', o.commonDim, ctx.labelNames.length);
    const widths = [o.commonDim, Math.max(2, Math.floor(o.commonDim / 2)), Math.max(2, Math.floor(o.commonDim / 4)), 2];
    this.domain = adversarialHead(this.p, ['domain.fc1', 'domain.fc2', 'domain.fc3'], widths, 'tanh');
  }

  protected encode(i: 0 | 1, x: tf.Tensor): tf.Tensor {
    const [fc1, fc2] = this.proj[i];
    return tf.tanh(applyLinear(fc2, tf.tanh(applyLinear(fc1, x))));
  }

  losses(batch: Batch, ctx: StepContext): LossTerms {
    const [a, b] = this.modalities as [string, string];
    const u = this.encode(0, batch.x[a] as tf.Tensor);
    const v = this.encode(1, batch.x[b] as tf.Tensor);
    const views = pairedViews(batch, a, b, this.embeddingDim);
    const labelTerm = (e: tf.Tensor, y: tf.Tensor) => {
      if (!e.shape[0]) return tf.scalar(0);
      const target = tf.div(y, tf.maximum(tf.sum(y, 1, true), 1));
      return tf.neg(tf.mean(tf.sum(tf.mul(target, tf.logSoftmax(applyLinear(this.classifier, e))), 1)));
    };
    const label = tf.add(labelTerm(u, views.labelsA), labelTerm(v, views.labelsB)) as tf.Scalar;
    const uPair = views.pairA(u);
    const vPair = views.pairB(v);
    let pair: tf.Tensor = tf.scalar(0);
    let dissimilar: tf.Tensor = tf.scalar(0);
    if (views.pairs) {
      pair = tf.sqrt(tf.add(tf.sum(tf.square(tf.sub(uPair, vPair))), 1e-12)); // Frobenius norm of E_a - E_b
      const shared = tf.matMul(views.pairLabels, views.pairLabels, false, true);
      const different = tf.cast(tf.equal(shared, 0), 'float32');
      const sqDistance = tf.relu(tf.add(tf.sub(tf.sum(tf.square(uPair), 1, true), tf.mul(tf.matMul(uPair, vPair, false, true), 2)), tf.transpose(tf.sum(tf.square(vPair), 1, true))));
      const hinge = tf.relu(tf.sub(this.o.margin, sqDistance));
      dissimilar = tf.div(tf.sum(tf.mul(hinge, different)), tf.maximum(tf.sum(different), 1));
    }
    const lambda = reversalSchedule(ctx.progress);
    const adv = tf.addN([
      ...(u.shape[0] ? [modalityCrossEntropy(discriminate(this.domain, u, lambda), 1)] : []),
      ...(v.shape[0] ? [modalityCrossEntropy(discriminate(this.domain, v, lambda), 0)] : []),
    ]) as tf.Scalar;
    const total = tf.addN([tf.mul(label, this.o.labelWeight), pair, tf.mul(dissimilar, this.o.dissimilarWeight), adv]) as tf.Scalar;
    return { total, terms: { label, pair: pair as tf.Scalar, dissimilar: dissimilar as tf.Scalar, adv } };
  }

}

const factory: MethodFactory<AcmrOptions> = {
  name: 'acmr',
  description: 'ACMR (ACM MM 2017): tanh projectors, label classifier, pair and dissimilarity terms, modality classifier through gradient reversal',
  defaults: { hiddenA: 1000, hiddenB: 300, commonDim: 40, labelWeight: 50, dissimilarWeight: 0.2, margin: 0.1 },
  training: { epochs: 50, batchSize: 64, lr: 1e-4, beta1: 0.5, beta2: 0.999, weightDecay: 0 },
  presets: {
    'nus-wide': { options: {}, training: { epochs: 50, batchSize: 64, lr: 1e-4 }, note: 'the ACMR demo settings for NUS-WIDE-10k' },
    wikipedia: { options: { labelWeight: 100 }, training: { epochs: 100, batchSize: 64, lr: 1e-4 }, note: 'the demo\'s Wikipedia label weight (100); 100 epochs' },
  },
  parseOptions: (raw) => parseOptionsWith(OptionsSchema, raw),
  create: (ctx, options) => new Acmr(ctx, options),
};
register(factory);
