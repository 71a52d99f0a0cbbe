// xmodal embed: one modality of a trained run's data set (or any feature file) into the common space.
import type { Command } from 'commander';
import { readMatrix } from '../data/formats/matrix.js';
import { encodeNpy } from '../data/formats/npy.js';
import { UserError } from '../errors.js';
import { loadRun } from '../runs/load.js';
import { writeFileAtomically } from '../util/atomic-dir.js';

export function registerEmbed(program: Command): void {
  program.command('embed <run>')
    .description("embed one modality with a trained run's encoder: items of a split, or rows of a feature file")
    .requiredOption('--modality <name>', 'which encoder')
    .option('--split <name>', "items of this split of the run's data set (items lacking the modality are skipped)", 'test')
    .option('--input <file[:var]>', 'instead of a split: a feature matrix (.npy, .npz, .mat, .csv), one row per item')
    .option('--data <dir>', 'another data set with the same modalities')
    .requiredOption('--out <file.npy>', 'output: N x d float32 embeddings (with --split, also <out>.items.npy: the item indices)')
    .action(async (dir: string, f: { modality: string; split: string; input?: string; data?: string; out: string }) => {
      const loaded = await loadRun(dir, f.data);
      const { method, dataset } = loaded;
      if (!method.modalities.includes(f.modality)) throw new UserError(`--modality: the run embeds ${method.modalities.join(' and ')}, not '${f.modality}'`);
      const dim = dataset.modality(f.modality).dim;
      let features: Float32Array;
      let items: Int32Array | undefined;
      if (f.input) {
        const m = await readMatrix(f.input);
        if (m.cols !== dim) throw new UserError(`${m.source}: ${m.cols}-d rows, the ${f.modality} encoder takes ${dim}-d`);
        features = Float32Array.from(m.values);
      } else {
        const indices = dataset.split(f.split);
        const present = dataset.present(f.modality, indices);
        items = indices.filter((_, k) => present[k]);
        features = dataset.features(f.modality, items);
      }
      const n = features.length / dim;
      const out = new Float32Array(n * method.embeddingDim);
      loaded.encoder.embed(f.modality, features, dim).forEach((row, i) => out.set(row, i * method.embeddingDim));
      writeFileAtomically(f.out, encodeNpy(out, [n, method.embeddingDim]));
      if (items) writeFileAtomically(f.out.replace(/\.npy$/, '') + '.items.npy', encodeNpy(items, [items.length]));
      console.log(`wrote ${f.out}: ${n} x ${method.embeddingDim}`);
      method.dispose();
    });
}
