// xmodal ensemble RUN RUN... --out DIR: K trained runs as one run (src/runs/ensemble.ts).
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { writeEnsemble } from '../runs/ensemble.js';
import { loadEnsembleOf } from '../runs/load.js';
import { flag, parseFlags } from './options.js';

export function registerEnsemble(program: Command): void {
  program.command('ensemble <runs...>')
    .description('combine trained runs into one (embeddings concatenated, each normalised: similarity = mean of the members\' cosines); eval, index and serve take it like a run')
    .requiredOption('--out <dir>', 'directory of the ensemble (it holds ensemble.json; the members stay where they are)')
    .option('--force', 'replace an existing ensemble at --out')
    .action(async (runs: string[], raw: Record<string, unknown>) => {
      const f = parseFlags(z.object({ out: z.string(), force: flag }), raw);
      // Loaded first, so that members that do not fit together (other modalities, data sets) are refused before
      // anything is written.
      const run = await loadEnsembleOf(f.out, runs.map((r) => resolve(r)));
      writeEnsemble(f.out, runs, f.force);
      console.log(`wrote ${f.out}: ${run.method.name}, ${run.encoder.embeddingDim}-d embeddings, data set ${run.dataset.name}`);
      run.method.dispose();
    });
}
