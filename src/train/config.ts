// The one object that holds a training run's knobs (nanoGPT style); recorded in the run directory.
import { z } from 'zod';

export const TrainConfigSchema = z.object({
  method: z.string(),
  preset: z.string().optional(),
  /** Method options over the preset's (see each method's schema). */
  options: z.record(z.string(), z.unknown()).default({}),
  data: z.string(),
  out: z.string(),
  epochs: z.number().int().positive().optional(),
  batchSize: z.number().int().positive().optional(),
  lr: z.number().positive().optional(),
  beta1: z.number().min(0).lt(1).optional(),
  beta2: z.number().min(0).lt(1).optional(),
  weightDecay: z.number().nonnegative().optional(),
  seed: z.number().int().nonnegative().default(0),
  /** val: select the best epoch on a validation split (default); test: the papers' protocol (best test epoch). */
  selectOn: z.enum(['val', 'test']).default('val'),
  /** Share of the training split carved out for validation when the data set has no val split. */
  valFraction: z.number().gt(0).lt(1).default(0.1),
  /** Also record test mAP every epoch (never used for selection under selectOn=val). */
  trackTest: z.boolean().default(false),
  /** Write the resume checkpoint when this many seconds passed since the last one (and after the last epoch). */
  checkpointSeconds: z.number().nonnegative().default(60),
});

export type TrainConfig = z.infer<typeof TrainConfigSchema>;
export type TrainConfigInput = z.input<typeof TrainConfigSchema>;
