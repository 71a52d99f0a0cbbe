// Adam over a fixed list of tfjs variables. With the native addon the whole update is one fused in-place
// pass per variable over its wasm-heap memory (tfjs's own Adam spends ~100 ms on 6 M parameters in wasm);
// without it, the same formula runs as tfjs ops.
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { isShared } from './identity-kernel.js';
import { heapView } from './matmul-kernel.js';
import type { NativeKernels } from './native.js';
import { nativeKernels } from './engine.js';

export interface AdamConfig {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** L2 penalty added to the gradient, as PyTorch's Adam (not AdamW's decoupled decay). */
  weightDecay: number;
}

export const adamDefaults: AdamConfig = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 };

interface Slot {
  variable: tf.Variable;
  m: Float32Array | tf.Variable;
  v: Float32Array | tf.Variable;
}

export class Adam {
  readonly config: AdamConfig;
  private readonly slots: Slot[];
  private readonly native: NativeKernels | null;
  private step = 0;

  constructor(variables: tf.Variable[], config: Partial<AdamConfig> = {}, options: { native?: boolean } = {}) {
    this.config = { ...adamDefaults, ...config };
    this.native = options.native === false || tf.getBackend() !== 'wasm' ? null : nativeKernels();
    this.slots = variables.map((variable) => {
      if (variable.dtype !== 'float32') throw new TypeError(`Adam: variable ${variable.name} is not float32`);
      if (this.native) {
        return { variable, m: new Float32Array(variable.size), v: new Float32Array(variable.size) };
      }
      return {
        variable,
        m: tf.variable(tf.zerosLike(variable), false),
        v: tf.variable(tf.zerosLike(variable), false),
      };
    });
  }

  /** For learning-rate schedules: the rate of the following updates. */
  setLearningRate(lr: number): void {
    this.config.lr = lr;
  }

  get iterations(): number {
    return this.step;
  }

  get variables(): tf.Variable[] {
    return this.slots.map((s) => s.variable);
  }

  /** Applies one update from gradients keyed by variable name (as tf.variableGrads returns them). */
  apply(grads: tf.NamedTensorMap): void {
    this.step++;
    const { lr, beta1, beta2, eps, weightDecay } = this.config;
    const backend = this.native ? (tf.backend() as BackendWasm) : undefined;
    for (const slot of this.slots) {
      const grad = grads[slot.variable.name];
      if (!grad) continue; // a variable the loss does not reach keeps its value and moments
      if (this.native && backend) {
        if (isShared(backend, slot.variable)) {
          // Another tensor shares this memory (a clone, a saved tensor): give the variable its own first.
          const own = tf.tidy(() => tf.add(slot.variable, tf.scalar(0)));
          slot.variable.assign(own);
          own.dispose();
        }
        this.native.adam(heapView(backend, slot.variable), heapView(backend, grad), slot.m as Float32Array,
          slot.v as Float32Array, lr, beta1, beta2, eps, this.step, weightDecay);
      } else {
        const m = slot.m as tf.Variable;
        const v = slot.v as tf.Variable;
        const t = this.step;
        tf.tidy(() => {
          const g = weightDecay ? tf.add(grad, tf.mul(slot.variable, weightDecay)) : grad;
          const mNew = tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1));
          const vNew = tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2));
          m.assign(mNew);
          v.assign(vNew);
          const mHat = tf.div(mNew, 1 - beta1 ** t);
          const vHat = tf.div(vNew, 1 - beta2 ** t);
          slot.variable.assign(tf.sub(slot.variable, tf.mul(tf.div(mHat, tf.add(tf.sqrt(vHat), eps)), lr)));
        });
      }
    }
  }

  /** Computes the gradients of `loss` with respect to every variable, applies them, returns the loss value. */
  minimize(loss: () => tf.Scalar): number {
    const { value, grads } = tf.variableGrads(loss, this.variables);
    try {
      this.apply(grads);
      return value.dataSync()[0] as number;
    } finally {
      value.dispose();
      tf.dispose(grads);
    }
  }

  /** Step count and both moments of every variable, in variable order (views: copy what you keep). */
  getState(): { step: number; m: Float32Array[]; v: Float32Array[] } {
    const read = (x: Float32Array | tf.Variable) => (x instanceof Float32Array ? x : (x.dataSync() as Float32Array));
    return { step: this.step, m: this.slots.map((s) => read(s.m)), v: this.slots.map((s) => read(s.v)) };
  }

  setState(state: { step: number; m: Float32Array[]; v: Float32Array[] }): void {
    if (state.m.length !== this.slots.length || state.v.length !== this.slots.length) throw new Error('optimizer state does not match the model');
    this.step = state.step;
    this.slots.forEach((slot, i) => {
      for (const [key, values] of [['m', state.m[i]!], ['v', state.v[i]!]] as const) {
        if (values.length !== slot.variable.size) throw new Error(`optimizer state of ${slot.variable.name} has the wrong size`);
        const target = slot[key];
        if (target instanceof Float32Array) target.set(values);
        else target.assign(tf.tensor(values, slot.variable.shape));
      }
    });
  }

  dispose(): void {
    for (const slot of this.slots) {
      if (!(slot.m instanceof Float32Array)) tf.dispose([slot.m, slot.v as tf.Variable]);
    }
  }
}
