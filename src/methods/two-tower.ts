// Shared plumbing of two-modality methods without buffers: options parsing, parameter ownership, the choice of
// modalities and evaluation-mode embedding through the method's own encode().
import type * as tf from '@tensorflow/tfjs';
import { tidy } from '@tensorflow/tfjs';
import type { z } from 'zod';
import { UserError } from '../errors.js';
import { Params } from './layers.js';
import type { Batch, LossTerms, Method, MethodContext, StepContext } from './method.js';

export function parseOptionsWith<T>(schema: z.ZodType<T>, raw: Record<string, unknown>): T {
  const r = schema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new UserError(`method option ${issue?.path.join('.') || (issue as { keys?: string[] } | undefined)?.keys?.join(', ') || ''}: ${issue?.message}`);
  }
  return r.data;
}

/** A model whose tensors all live in one Params: the Method plumbing that follows from that. */
export abstract class ParamsModel {
  protected readonly p: Params;

  constructor(seed: number) {
    this.p = new Params(seed);
  }

  trainableVariables(): tf.Variable[] {
    return this.p.trainableVariables();
  }

  state(): Map<string, tf.Variable> {
    return this.p.all;
  }

  afterStep(): void {
    this.p.commit();
  }

  artifacts(): Record<string, unknown> {
    return {};
  }

  dispose(): void {
    this.p.dispose();
  }
}

export abstract class TwoTower extends ParamsModel implements Method {
  readonly modalities: string[];

  constructor(readonly name: string, ctx: MethodContext, chosen: string[] | undefined, readonly embeddingDim: number) {
    super(ctx.seed);
    const available = Object.keys(ctx.dims);
    this.modalities = chosen ?? available.slice(0, 2);
    if (this.modalities.length !== 2 || this.modalities.some((m) => !(m in ctx.dims))) {
      throw new UserError(`${name} needs two of the data set's modalities (${available.join(', ') || 'none'})`);
    }
  }

  protected abstract encode(i: 0 | 1, x: tf.Tensor): tf.Tensor;
  abstract losses(batch: Batch, ctx: StepContext): LossTerms;

  embed(modality: string, x: tf.Tensor): tf.Tensor {
    const i = this.modalities.indexOf(modality);
    if (i < 0) throw new UserError(`${this.name} embeds ${this.modalities.join(' and ')}, not '${modality}'`);
    return tidy(() => this.encode(i as 0 | 1, x));
  }
}
