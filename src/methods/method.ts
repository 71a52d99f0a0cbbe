// What a method gives the trainer (PyTorch Lightning style): its parameters, its forward pass as loss terms,
// and per-modality encoders. The trainer owns loops, optimiser, checkpoints, logging and evaluation.
import type * as tf from '@tensorflow/tfjs';

export interface Batch {
  /** Modality name -> features of the batch items that have the modality (rows x dim), in batch order. */
  x: Record<string, tf.Tensor>;
  /** Modality name -> the batch positions of x's rows (0..size-1 when every item has the modality). */
  rows: Record<string, Int32Array>;
  /** batch x C multi-hot labels (float32), every item. */
  labels: tf.Tensor;
  size: number;
  /**
   * Transfer training: target-domain features per modality. Unaligned (the default) means row i of one modality
   * and row i of another are unrelated draws; aligned only for the oracle that may use the target's pairs.
   */
  target?: { x: Record<string, tf.Tensor>; aligned: boolean };
}

export interface StepContext {
  /** Fraction of training done, 0..1 (for schedules such as ACMR's adversarial weight). */
  progress: number;
}

export interface LossTerms {
  total: tf.Scalar;
  /** Named, unweighted terms for logging. */
  terms: Record<string, tf.Scalar>;
}

/** What a closed-form method fits on: one split's rows per modality (features of absent items are zero). */
export interface FitData {
  features: Record<string, Float32Array>;
  present: Record<string, Uint8Array>;
  dims: Record<string, number>;
  labels: Uint8Array;
  classes: number;
}

export interface Method {
  readonly name: string;
  /** The modalities the model embeds, in order. */
  readonly modalities: string[];
  readonly embeddingDim: number;
  /** Transfer methods: which target-domain rows each batch needs (unaligned draws, or pairs for an oracle). */
  readonly targetData?: 'unaligned' | 'aligned' | undefined;
  trainableVariables(): tf.Variable[];
  /** Every tensor that defines the model (weights and buffers such as batch-norm running statistics). */
  state(): Map<string, tf.Variable>;
  /** Training-mode forward pass: the loss to minimise and its terms. Runs inside the optimiser's tape. */
  losses(batch: Batch, ctx: StepContext): LossTerms;
  /** After each optimiser step: apply buffered updates (batch-norm running statistics). */
  afterStep(): void;
  /**
   * Evaluation-mode features of modality `to` generated from modality `from` (methods with cross-modal
   * generators; used to reconstruct missing modalities). Undefined when the method has none.
   */
  generate?(from: string, to: string, x: tf.Tensor): tf.Tensor;
  /**
   * Closed-form methods (CCA) fit once instead of training by gradient; `score` evaluates the current model on
   * the selection split, so the method can choose its own settings there (the number of components, say).
   */
  fit?(data: FitData, score: () => Promise<number>): Promise<Record<string, unknown>>;
  /**
   * Before the modal-reconstruction stage (methods with generators): `official-code` takes the stage's loss weights
   * in the order the official main.py passes them, `paper` as the paper means them.
   */
  beginReconstruction?(argOrder: 'paper' | 'official-code', normStatistics: 'update' | 'frozen'): void;
  /**
   * Evaluation-mode common embedding of items given by several modalities at once (multi-modal queries), for
   * methods that aggregate an item's modalities: from the items' embeddings (`embed` outputs, rows aligned across
   * modalities); `present` flags the rows that have each modality (default all).
   */
  aggregate?(embeddings: Record<string, tf.Tensor>, present: Record<string, Uint8Array>): tf.Tensor;
  /** Evaluation-mode embedding of one modality into the common space. */
  embed(modality: string, x: tf.Tensor): tf.Tensor;
  /** Method-specific things a run keeps (label graph, label vectors), JSON-serialisable. */
  artifacts(): Record<string, unknown>;
  dispose(): void;
}

export interface MethodContext {
  /** Modality name -> input dimension, in the data set's order. */
  dims: Record<string, number>;
  labelNames: string[];
  /** Training labels (N x C multi-hot), for label statistics such as co-occurrence. */
  trainLabels: Uint8Array;
  /** C x dim label-name vectors, when available. */
  labelEmbeddings?: { data: Float32Array; dim: number; source: string };
  seed: number;
}

/** Training settings a method's preset carries; the trainer and CLI may override them. */
export interface TrainingDefaults {
  epochs: number;
  batchSize: number;
  lr: number;
  beta1: number;
  beta2: number;
  weightDecay: number;
  /** constant (the official codes') or cosine: lr * (1 + cos(pi * progress)) / 2, decaying toward 0 over the run. */
  lrSchedule?: 'constant' | 'cosine' | undefined;
}

export interface MethodFactory<O extends Record<string, unknown> = Record<string, unknown>> {
  name: string;
  description: string;
  /** Default options; presets override them. */
  defaults: O;
  training: TrainingDefaults;
  /** Learns a transfer task: trained on a source data set plus a target domain (--target), evaluated on target pairs. */
  transfer?: boolean;
  /** Named presets (published hyper-parameters per data set): model options and training settings. */
  presets: Record<string, { options?: Partial<O>; training?: Partial<TrainingDefaults>; note: string }>;
  /** Validates user options (a UserError names the bad field). */
  parseOptions(raw: Record<string, unknown>): O;
  create(ctx: MethodContext, options: O): Method;
}
