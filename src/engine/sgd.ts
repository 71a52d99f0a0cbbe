// Plain SGD (the official code's optimiser for the modal-reconstruction stage).
import * as tf from '@tensorflow/tfjs';

export class Sgd {
  constructor(readonly variables: tf.Variable[], readonly lr: number) {}

  minimize(loss: () => tf.Scalar): number {
    const { value, grads } = tf.variableGrads(loss, this.variables);
    try {
      tf.tidy(() => {
        for (const v of this.variables) {
          const g = grads[v.name];
          if (g) v.assign(tf.sub(v, tf.mul(g, this.lr)));
        }
      });
      return value.dataSync()[0] as number;
    } finally {
      value.dispose();
      tf.dispose(grads);
    }
  }

  dispose(): void {}
}
