// Building blocks with PyTorch's initialisation and semantics, so models match the official code.
import * as tf from '@tensorflow/tfjs';
import { batchNormTraining, fusedGradients } from '../engine/ops.js';
import { createRng } from '../engine/random.js';

/** Owns a model's variables: seeded initialisation in creation order, names for checkpoints. */
export class Params {
  private readonly rng: () => number;
  readonly all = new Map<string, tf.Variable>();
  private readonly trainable: tf.Variable[] = [];
  private readonly pending: Array<() => void> = [];
  private readonly scope = `m${Math.floor(Math.random() * 1e9)}`;

  constructor(seed: number) {
    this.rng = createRng(seed);
  }

  /** A variable from explicit values; tfjs needs globally unique variable names, so they are scoped. */
  variable(name: string, values: Float32Array, shape: number[], trainable = true): tf.Variable {
    if (this.all.has(name)) throw new Error(`parameter ${name} defined twice`);
    const initial = tf.tensor(values, shape, 'float32');
    const v = tf.variable(initial, trainable, `${this.scope}/${name}`);
    initial.dispose(); // the variable keeps the memory; no second owner, so in-place updates need no copy
    this.all.set(name, v);
    if (trainable) this.trainable.push(v);
    return v;
  }

  uniform(name: string, shape: number[], lo: number, hi: number, trainable = true): tf.Variable {
    const n = shape.reduce((a, b) => a * b, 1);
    const values = new Float32Array(n);
    for (let i = 0; i < n; i++) values[i] = lo + (hi - lo) * this.rng();
    return this.variable(name, values, shape, trainable);
  }

  constant(name: string, values: Float32Array, shape: number[]): tf.Variable {
    return this.variable(name, values, shape, false);
  }

  trainableVariables(): tf.Variable[] {
    return this.trainable;
  }

  /** Queues a buffer update computed during the forward pass; kept out of the tape's disposal. */
  defer(update: () => void): void {
    this.pending.push(update);
  }

  commit(): void {
    for (const update of this.pending.splice(0)) update();
  }

  dispose(): void {
    tf.dispose([...this.all.values()]);
  }
}

export interface Linear {
  w: tf.Variable;
  b: tf.Variable | undefined;
}

/**
 * nn.Linear: weight and bias U(-1/sqrt(in), 1/sqrt(in)); stored as in x out for x @ W. Either side may be 0, as in
 * PyTorch (a layer from 0 inputs has its bias only, initialised to 0).
 */
export function linear(p: Params, name: string, inDim: number, outDim: number, bias = true): Linear {
  const bound = inDim > 0 ? 1 / Math.sqrt(inDim) : 0;
  return { w: p.uniform(`${name}.weight`, [inDim, outDim], -bound, bound), b: bias ? p.uniform(`${name}.bias`, [outDim], -bound, bound) : undefined };
}

export function applyLinear(l: Linear, x: tf.Tensor): tf.Tensor {
  const y = tf.matMul(x, l.w);
  return l.b ? tf.add(y, l.b) : y;
}

/** (x - mean) / sqrt(variance + eps) * gamma + beta: the normalisation of batch and layer norm, written out. */
function normalizeAffine(x: tf.Tensor, mean: tf.Tensor, variance: tf.Tensor, eps: number, gamma: tf.Tensor, beta: tf.Tensor): tf.Tensor {
  return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))), gamma), beta);
}

/** nn.BatchNorm1d (eps 1e-5, momentum 0.1, affine): batch statistics in training, running ones in evaluation. */
export class BatchNorm {
  readonly gamma: tf.Variable;
  readonly beta: tf.Variable;
  readonly runningMean: tf.Variable;
  readonly runningVar: tf.Variable;

  constructor(private readonly p: Params, name: string, dim: number, private readonly eps = 1e-5, private readonly momentum = 0.1) {
    this.gamma = p.variable(`${name}.weight`, new Float32Array(dim).fill(1), [dim]);
    this.beta = p.variable(`${name}.bias`, new Float32Array(dim), [dim]);
    this.runningMean = p.constant(`${name}.running_mean`, new Float32Array(dim), [dim]);
    this.runningVar = p.constant(`${name}.running_var`, new Float32Array(dim).fill(1), [dim]);
  }

  /** Running statistics after this step's calls so far, assigned after the optimiser step (undefined: none yet). */
  private next: { mean: tf.Tensor; variance: tf.Tensor } | undefined;
  /** Batch statistics of this step's calls, folded in at commit (the fused path: off the gradient tape). */
  private queued: Array<{ n: number; mean: tf.Tensor; variance: tf.Tensor }> = [];
  private scheduled = false;

  /** False: training-mode calls leave the running statistics alone unless a call asks otherwise. */
  trackStatistics = true;

  /** `track` false: a training-mode call that normalises with its batch statistics but leaves the running ones alone. */
  apply(x: tf.Tensor, training: boolean, track = this.trackStatistics): tf.Tensor {
    if (!training) return tf.batchNorm(x, this.runningMean, this.runningVar, this.beta, this.gamma, this.eps);
    if (fusedGradients()) {
      let batch: { mean: tf.Tensor; variance: tf.Tensor } | undefined;
      const y = batchNormTraining(x, this.gamma, this.beta, this.eps, (mean, variance) => (batch = { mean, variance }));
      if (batch && track) {
        this.queued.push({ n: x.shape[0] as number, ...batch });
        this.schedule();
      } else if (batch) {
        tf.dispose([batch.mean, batch.variance]);
      }
      return y;
    }
    const { mean, variance } = tf.moments(x, 0);
    if (track) {
      this.fold(x.shape[0] as number, mean, variance);
      this.schedule();
    }
    // Written out rather than tf.batchNorm, whose gradient tiles its operands (3 ms per call on wasm).
    return normalizeAffine(x, mean, variance, this.eps, this.gamma, this.beta);
  }

  /** Folds a batch's statistics into the running ones of this step. */
  private fold(n: number, mean: tf.Tensor, variance: tf.Tensor): void {
    // PyTorch updates the running statistics at every training-mode call, so a layer called twice in a step (aeir
    // encodes source, then target) folds in both batches: each update starts from the previous one's result.
    // Running variance is unbiased, as in PyTorch. Assigned after the optimiser step.
    const m = this.momentum;
    const previous = this.next ?? { mean: this.runningMean, variance: this.runningVar };
    const next = tf.tidy(() => ({
      mean: tf.keep(tf.add(tf.mul(previous.mean, 1 - m), tf.mul(mean, m))),
      variance: tf.keep(tf.add(tf.mul(previous.variance, 1 - m), tf.mul(variance, (m * n) / Math.max(n - 1, 1)))),
    }));
    if (this.next) tf.dispose([this.next.mean, this.next.variance]);
    this.next = next;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    this.p.defer(() => this.commit());
  }

  private commit(): void {
    this.scheduled = false;
    for (const { n, mean, variance } of this.queued.splice(0)) {
      this.fold(n, mean, variance);
      tf.dispose([mean, variance]);
    }
    if (!this.next) return;
    this.runningMean.assign(this.next.mean);
    this.runningVar.assign(this.next.variance);
    tf.dispose([this.next.mean, this.next.variance]);
    this.next = undefined;
  }
}

/** nn.LayerNorm over the last axis (eps 1e-5, affine). */
export class LayerNorm {
  readonly gamma: tf.Variable;
  readonly beta: tf.Variable;

  constructor(p: Params, name: string, dim: number, private readonly eps = 1e-5) {
    this.gamma = p.variable(`${name}.weight`, new Float32Array(dim).fill(1), [dim]);
    this.beta = p.variable(`${name}.bias`, new Float32Array(dim), [dim]);
  }

  apply(x: tf.Tensor): tf.Tensor {
    const axis = x.rank - 1;
    const { mean, variance } = tf.moments(x, axis, true);
    return normalizeAffine(x, mean, variance, this.eps, this.gamma, this.beta);
  }
}
