// An ensemble of K trained runs as one run: an item's embedding is the concatenation of the K members'
// L2-normalised embeddings, each scaled by 1/sqrt(K). It has unit length, and the cosine of two such embeddings
// is the mean of the K members' cosines, so ranking by it ranks by the sum of the members' similarities; the
// index, the service and evaluation take it like any run (a K x d-wide embedding). The directory holds only
// ensemble.json naming the members; their weights stay in their own runs.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { tf } from '../engine/engine.js';
import { UserError } from '../errors.js';
import type { Method } from '../methods/method.js';
import { writeFileAtomically } from '../util/atomic-dir.js';
import { readJsonFileAs } from '../util/read-file.js';

export const ENSEMBLE_FILE = 'ensemble.json';

export const EnsembleSchema = z.object({
  format: z.literal('xmodal-ensemble'),
  version: z.literal(1),
  /** Absolute paths of the member runs. */
  members: z.array(z.string()).min(2),
  created: z.string(),
});
export type EnsembleFile = z.infer<typeof EnsembleSchema>;

export function isEnsemble(dir: string): boolean {
  return existsSync(join(dir, ENSEMBLE_FILE));
}

export function readEnsemble(dir: string): EnsembleFile {
  return readJsonFileAs(join(dir, ENSEMBLE_FILE), EnsembleSchema);
}

/** Writes DIR/ensemble.json; refuses fewer than two members, a member that is not a run, and (without force) an existing DIR. */
export function writeEnsemble(dir: string, members: string[], force: boolean): EnsembleFile {
  if (members.length < 2) throw new UserError('an ensemble needs at least two runs');
  const paths = members.map((m) => resolve(m));
  if (new Set(paths).size !== paths.length) throw new UserError('a run is named twice');
  for (const p of paths) {
    if (!existsSync(join(p, 'config.json')) && !isEnsemble(p)) throw new UserError(`${p}: not an xmodal run (no config.json)`);
  }
  if (existsSync(join(dir, ENSEMBLE_FILE)) && !force) throw new UserError(`${dir}: already holds an ensemble (use --force to replace it)`);
  if (existsSync(join(dir, 'config.json'))) throw new UserError(`${dir}: is a trained run; write the ensemble elsewhere`);
  const file: EnsembleFile = { format: 'xmodal-ensemble', version: 1, members: paths, created: new Date().toISOString() };
  writeFileAtomically(join(dir, ENSEMBLE_FILE), JSON.stringify(file, null, 2) + '\n', true);
  return file;
}

/** The weights' identity of an ensemble: sha256 over its members' model hashes, in order. */
export function ensembleHash(dir: string, memberHash: (run: string) => string): string {
  const h = createHash('sha256').update('xmodal-ensemble');
  for (const m of readEnsemble(dir).members) h.update(memberHash(m));
  return h.digest('hex');
}

function refuse(what: string): never {
  throw new UserError(`an ensemble is not trained: ${what} is not available (train its members)`);
}

/** The members as one evaluation-mode method: concatenated, normalised, 1/sqrt(K)-scaled embeddings. */
export function ensembleMethod(members: Method[]): Method {
  const [first] = members;
  if (!first) throw new UserError('an ensemble needs at least two runs');
  for (const m of members) {
    if (m.modalities.join(',') !== first.modalities.join(',')) throw new UserError(`ensemble members embed different modalities (${first.modalities.join(', ')} vs ${m.modalities.join(', ')})`);
  }
  const scale = 1 / Math.sqrt(members.length);
  const method: Method = {
    name: `ensemble of ${members.length} (${[...new Set(members.map((m) => m.name))].join(', ')})`,
    modalities: first.modalities,
    embeddingDim: members.reduce((s, m) => s + m.embeddingDim, 0),
    embed: (modality: string, x: tf.Tensor) => tf.tidy(() => tf.concat(members.map((m) => {
      const e = m.embed(modality, x);
      return tf.mul(tf.div(e, tf.maximum(tf.norm(e, 'euclidean', 1, true), 1e-12)), scale);
    }), 1)),
    trainableVariables: () => refuse('training'),
    state: () => refuse('its weights'),
    losses: () => refuse('training'),
    afterStep: () => {},
    artifacts: () => ({ members: members.map((m) => ({ name: m.name, ...m.artifacts() })) }),
    dispose: () => members.forEach((m) => m.dispose()),
  };
  return method;
}
