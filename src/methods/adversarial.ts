// Adversarial heads (Ganin & Lempitsky, DANN): a small MLP with two logits that tells two sources apart
// (modalities in DAGNN, ACMR and AGAT; domains in AEIR), seen through gradient reversal of strength lambda,
// so one backward pass trains the head to separate them and the encoders to make them inseparable.
//
//   logits = W_L act(... act(W_1 [BN](GRL_lambda(x))))        lambda_p = 2 / (1 + exp(-10 p)) - 1 (scheduled)
import * as tf from '@tensorflow/tfjs';
import { gradReverse } from '../engine/ops.js';
import { applyLinear, BatchNorm, linear, type Linear, type Params } from './layers.js';

/** Between hidden layers: none (AAAI DAGNN), relu (TPAMI DAGNN), tanh (ACMR), leaky (LeakyReLU 0.2: AGAT, AEIR). */
export type HeadActivation = 'none' | 'relu' | 'tanh' | 'leaky';

export interface AdversarialHead {
  readonly bn: BatchNorm | undefined;
  readonly layers: Linear[];
  readonly activation: HeadActivation;
}

/**
 * A head over `widths` (input, hidden..., 2) with layers named `layerNames`; with `batchNormName`, a BatchNorm on the
 * input, created first. Creation order is initialisation order and names are checkpoint keys, so both are those
 * each method had before the heads were shared (and its reference code has).
 */
export function adversarialHead(p: Params, layerNames: string[], widths: number[], activation: HeadActivation, batchNormName?: string): AdversarialHead {
  if (layerNames.length !== widths.length - 1) throw new Error(`adversarialHead: ${layerNames.length} layer names for ${widths.length - 1} layers`);
  const bn = batchNormName === undefined ? undefined : new BatchNorm(p, batchNormName, widths[0] as number);
  const layers = layerNames.map((name, i) => linear(p, name, widths[i] as number, widths[i + 1] as number));
  return { bn, layers, activation };
}

const activate: Record<HeadActivation, (t: tf.Tensor) => tf.Tensor> = {
  none: (t) => t,
  relu: (t) => tf.relu(t),
  tanh: (t) => tf.tanh(t),
  leaky: (t) => tf.leakyRelu(t, 0.2),
};

/** The head's two logits for each row of x, through gradient reversal of strength lambda (training-mode batch norm). */
export function discriminate(head: AdversarialHead, x: tf.Tensor, lambda: number): tf.Tensor {
  const reversed = gradReverse(x, lambda);
  let h = head.bn ? head.bn.apply(reversed, true) : reversed;
  head.layers.forEach((layer, i) => {
    h = applyLinear(layer, h);
    if (i < head.layers.length - 1) h = activate[head.activation](h);
  });
  return h;
}

/** DANN's reversal strength over training progress p in [0, 1]: 0 at the start, towards 1 at the end. */
export const reversalSchedule = (progress: number) => 2 / (1 + Math.exp(-10 * progress)) - 1;
