// Data set commands: import, synth, validate, info.
import type { Command } from 'commander';
import { Dataset } from '../data/dataset.js';
import { importArrays, parseLabelNames } from '../data/importers/arrays.js';
import { importJsonl } from '../data/importers/jsonl.js';
import { DEFAULT_IMAGE_LAYER, TEXT_FEATURIZERS, tfidfDefaults } from '../features/state.js';
import { importLayout } from '../data/importers/layout.js';
import { importWikipedia, parseVarPair } from '../data/importers/wikipedia.js';
import { datasetInfo, formatInfo, validateDataset } from '../data/inspect.js';
import { labelMatrixFrom, mirflickrLabels } from '../data/resources.js';
import { synthDefaults, synthesize } from '../data/synth.js';
import { MAX_LABELS, writeDataset, type DatasetSpec } from '../data/writer.js';
import { carveValidation } from '../data/splits.js';
import { UserError } from '../errors.js';
import { readMatrix } from '../data/formats/matrix.js';
import { labelEmbeddings, readWordVectors } from '../graph/label-embeddings.js';
import { encodeNpy } from '../data/formats/npy.js';
import { writeFileAtomically } from '../util/atomic-dir.js';
import { basename } from 'node:path';
import { existsSync } from 'node:fs';
import { dropModalities } from '../data/drop.js';
import { splitDomains } from '../data/domains.js';
import { checkSpec } from '../data/writer.js';
import { z } from 'zod';
import { collect, flag, fraction, list, nonNegativeInt, nonNegativeNumber, num, numberMap, parseFlags, positiveInt } from './options.js';

/** The flags every command that writes a data set takes. */
const WriteFlagsSchema = z.object({
  out: z.string(),
  force: flag,
  allowNonfinite: flag,
  name: z.string().optional(),
  labelEmbeddings: z.string().optional(),
  labelEmbeddingsSource: z.string().optional(),
  drop: numberMap.optional(),
  dropSeed: nonNegativeInt.default(0),
  valFraction: fraction.optional(),
  maxLabels: positiveInt.default(MAX_LABELS),
  allowOverlappingSplits: flag,
});
type WriteFlags = z.infer<typeof WriteFlagsSchema>;

/** A command's own flags with the write flags. */
const withWrite = <T extends z.ZodRawShape>(shape: T) => WriteFlagsSchema.extend(shape);

/** Importers' notes on what they decided for the user (a header skipped, variables left out): on stderr. */
const warn = (message: string) => console.error(`xmodal: note: ${message}`);

function withWriteFlags(command: Command): Command {
  return command
    .requiredOption('--out <dir>', 'directory of the new data set')
    .option('--name <name>', 'data set name')
    .option('--force', 'replace an existing directory at --out')
    .option('--allow-nonfinite', 'keep NaN and Inf feature values instead of refusing them')
    .option('--label-embeddings <file[:var]>', 'C x d label-name vectors to ship with the data set (see xmodal label-embed)')
    .option('--label-embeddings-source <text>', 'where the label vectors came from (default: the file name)')
    .option('--drop <modality=share,...>', 'simulate missing modalities: these shares of the training items lose that modality (e.g. image=0.4,text=0.4)')
    .option('--drop-seed <n>', 'seed of --drop (and of --val-fraction)', '0')
    .option('--val-fraction <f>', 'carve this share of train into a val split (stratified, seeded) before --drop, so that validation items keep every modality')
    .option('--max-labels <n>', `refuse more labels than this (default ${MAX_LABELS})`)
    .option('--allow-overlapping-splits', 'accept train, val and test sharing items (sanity checks only; validate still reports it)');
}

/** --val-fraction: a val split carved from train, so that --drop (which only touches train) leaves it complete. */
function carveVal(spec: DatasetSpec, share: number, seed: number): DatasetSpec {
  const train = spec.splits.train;
  if (!train) throw new UserError('--val-fraction: the data set has no train split to carve validation from');
  if (spec.splits.val) throw new UserError('--val-fraction: the data set already has a val split');
  const C = spec.labels.names.length;
  const carved = carveValidation(train, spec.labels.data, C, share, seed);
  return { ...spec, splits: { ...spec.splits, train: carved.train, val: carved.val } };
}

async function save(input: DatasetSpec, flags: WriteFlags): Promise<void> {
  const seed = flags.dropSeed;
  const carved = flags.valFraction !== undefined ? carveVal(input, flags.valFraction, seed) : input;
  const spec = flags.drop ? dropModalities(carved, flags.drop, seed) : carved;
  if (flags.name) spec.name = flags.name;
  if (flags.labelEmbeddings) {
    const m = await readMatrix(flags.labelEmbeddings);
    spec.labelEmbeddings = { data: Float32Array.from(m.values), dim: m.cols, source: flags.labelEmbeddingsSource ?? basename(m.source) };
  }
  const manifest = writeDataset(flags.out, spec, { force: flags.force, allowNonfinite: flags.allowNonfinite, maxLabels: flags.maxLabels, allowOverlappingSplits: flags.allowOverlappingSplits });
  const splits = Object.entries(manifest.splits).map(([k, v]) => `${k} ${v.count}`).join(', ');
  const modalities = manifest.modalities.map((m) => `${m.name} ${m.dim}-d`).join(', ');
  console.log(`wrote ${flags.out}: ${manifest.items} items (${splits}); ${modalities}; ${manifest.labels.names.length} labels`);
}

export function registerData(program: Command): void {
  const imp = program.command('import').description('convert feature files or raw photos and texts into an xmodal data set directory');

  withWriteFlags(imp.command('wikipedia <dir>').description('the Wikipedia benchmark layout: raw_features.mat, *_txt_img_cat.list, categories.list'))
    .option('--image-var <train,test>', 'MAT variables of the image features', 'I_tr,I_te')
    .option('--text-var <train,test>', 'MAT variables of the text features', 'T_tr,T_te')
    .option('--texts <file>', 'article texts ({id, title, text} a line): titles and texts for the page (default: DIR/texts.jsonl when present)')
    .option('--no-texts', 'leave the article texts out')
    .option('--text-features <name>', `replace the LDA text features by xmodal's own (${TEXT_FEATURIZERS.join(', ')}) of title + text, fitted on train`)
    .option('--min-df <n>', 'tfidf: keep words in at least this many training texts', String(tfidfDefaults.minDf))
    .option('--max-features <n>', 'tfidf: keep at most this many words', String(tfidfDefaults.maxFeatures))
    .action(async (dir: string, raw: Record<string, unknown>) => {
      const flags = parseFlags(withWrite({ imageVar: z.string(), textVar: z.string(), texts: z.union([z.string(), z.boolean()]).optional(), textFeatures: z.enum(TEXT_FEATURIZERS).optional(), minDf: positiveInt, maxFeatures: positiveInt }), raw);
      await save(await importWikipedia(dir, {
        imageVars: parseVarPair('--image-var', flags.imageVar), textVars: parseVarPair('--text-var', flags.textVar), warn,
        ...(flags.texts === false ? { texts: false as const } : typeof flags.texts === 'string' ? { texts: flags.texts } : {}),
        ...(flags.textFeatures ? { textFeatures: { name: flags.textFeatures, tfidf: { ...tfidfDefaults, minDf: flags.minDf, maxFeatures: flags.maxFeatures } } } : {}),
      }), flags);
    });

  withWriteFlags(imp.command('layout <dir>').description('research split files: {train,test}_{img,txt,lab}.mat (GNN4CMR/ALGCN) or *_img_lab.mat class indices (DSCMR)'))
    .option('--partial', 'accept missing image or text files: those items lack that modality')
    .option('--label-names <file|list>', 'label names, one per line or comma-separated')
    .action(async (dir: string, raw: Record<string, unknown>) => {
      const flags = parseFlags(withWrite({ partial: flag, labelNames: z.string().optional() }), raw);
      await save(await importLayout(dir, { partial: flags.partial, maxLabels: flags.maxLabels, ...(flags.labelNames ? { labelNames: parseLabelNames(flags.labelNames) } : {}) }), flags);
    });

  withWriteFlags(imp.command('arrays').description('one matrix file per modality (.mat variable, .npy, .csv, .tsv) and one for labels'))
    .requiredOption('--modality <name=file[:var]>', 'a modality and its matrix (repeat for each)', collect)
    .requiredOption('--labels <file[:var|:column]>', 'multi-hot N x C matrix, or one column of class indices (delimited files: FILE:COLUMN, e.g. trainset_txt_img_cat.list:3)')
    .option('--label-names <file|list>', 'label names, one per line or comma-separated')
    .option('--split <name=start:end|name=file>', 'a split as an item range or an index file (repeat); default: seeded train/test', collect)
    .option('--test-fraction <f>', 'test share of the default split', '0.2')
    .option('--seed <n>', 'seed of the default split', '0')
    .action(async (raw: Record<string, unknown>) => {
      const flags = parseFlags(withWrite({ modality: z.array(z.string()), labels: z.string(), labelNames: z.string().optional(), split: z.array(z.string()).optional(), testFraction: fraction, seed: nonNegativeInt }), raw);
      await save(await importArrays({
        modalities: flags.modality,
        labels: flags.labels,
        ...(flags.labelNames ? { labelNames: flags.labelNames } : {}),
        ...(flags.split ? { splits: flags.split } : {}),
        testFraction: flags.testFraction,
        seed: flags.seed,
        maxLabels: flags.maxLabels,
        warn,
      }), flags);
    });

  withWriteFlags(imp.command('jsonl <file>').description('one JSON object per item: numeric arrays as modalities, "labels", "split", "id", "meta"'))
    .option('--label-names <file|list>', 'label names, one per line or comma-separated (default: the names found, sorted)')
    .option('--test-fraction <f>', 'when no line has a "split" field: this share of the items becomes the test split (stratified, seeded)', '0')
    .option('--seed <n>', 'seed of --test-fraction', '0')
    .action(async (file: string, raw: Record<string, unknown>) => {
      const flags = parseFlags(withWrite({ labelNames: z.string().optional(), testFraction: num(z.number().min(0).lt(1)), seed: nonNegativeInt }), raw);
      await save(importJsonl(file, {
        ...(flags.labelNames ? { labelNames: parseLabelNames(flags.labelNames) } : {}),
        testFraction: flags.testFraction,
        seed: flags.seed,
        warn,
      }), flags);
    });

  withWriteFlags(imp.command('media <items>').description('raw photos and texts: a JSONL or CSV file, one item per line, featurised by xmodal (docs/features.md)'))
    .requiredOption('--label-field <name>', 'field with the label name (or a list of names; in CSV, names separated by |)')
    .option('--image-field <name>', 'field with the image path (relative to the items file)')
    .option('--text-field <names>', 'field or comma-separated fields whose text is joined (e.g. name,description)')
    .option('--split-field <name>', 'field naming each item\'s split (train, test, ...)')
    .option('--id-field <name>', 'field with each item\'s id (default: its line number from 0)')
    .option('--meta-field <names>', 'comma-separated scalar fields kept as metadata (searchable with filters)')
    .option('--image-features <name>', `image featuriser: mobilenet-v2 (weights from nsfwjs) or tfjs-model (--image-model DIR)`, 'mobilenet-v2')
    .option('--image-model <dir>', 'a tfjs layers model directory (model.json + shards) for --image-features tfjs-model')
    .option('--image-layer <name>', `layer whose spatially averaged output are the features (mobilenet-v2 default ${DEFAULT_IMAGE_LAYER})`)
    .option('--text-features <name>', `text featuriser: ${TEXT_FEATURIZERS.join(', ')}`, 'tfidf')
    .option('--min-df <n>', 'tfidf: keep words in at least this many training texts', String(tfidfDefaults.minDf))
    .option('--max-features <n>', 'tfidf: keep at most this many words (the most frequent)', String(tfidfDefaults.maxFeatures))
    .option('--keep-stop-words', 'tfidf: keep stop words')
    .option('--skip-bad', 'leave out items whose image is missing or unreadable (counted) instead of refusing the import')
    .option('--cache <dir>', 'image feature cache, keyed by file sha256 (default: OUT.cache); a re-run reuses it')
    .option('--test-fraction <f>', 'without --split-field: this share of the items becomes the test split (stratified, seeded)', '0')
    .option('--seed <n>', 'seed of --test-fraction and --val-fraction', '0')
    .action(async (items: string, raw: Record<string, unknown>) => {
      const flags = parseFlags(withWrite({
        labelField: z.string().min(1), imageField: z.string().min(1).optional(), textField: list.optional(), splitField: z.string().optional(),
        idField: z.string().optional(), metaField: list.default([]), imageFeatures: z.enum(['mobilenet-v2', 'tfjs-model', 'none']),
        imageModel: z.string().optional(), imageLayer: z.string().optional(), textFeatures: z.enum([...TEXT_FEATURIZERS, 'none']),
        minDf: positiveInt, maxFeatures: positiveInt, keepStopWords: flag, skipBad: flag, cache: z.string().optional(),
        testFraction: num(z.number().min(0).lt(1)), seed: nonNegativeInt,
      }), raw);
      if (flags.imageModel && flags.imageFeatures !== 'tfjs-model') throw new UserError('--image-model needs --image-features tfjs-model');
      let images = '';
      const progress = (done: number, total: number, rate: number) => {
        images = `${done} images featurised at ${rate.toFixed(1)} images/s, `;
        if (process.stderr.isTTY) process.stderr.write(`\rxmodal import: images ${done}/${total} (${rate.toFixed(1)} images/s)   ${done === total ? '\n' : ''}`);
      };
      const started = Date.now();
      // Loaded on use: sharp and the CNN are not needed by the other commands.
      const { importMedia } = await import('../data/importers/media.js');
      const spec = await importMedia(items, {
        imageField: flags.imageField, textFields: flags.textField ?? [], labelField: flags.labelField, splitField: flags.splitField,
        idField: flags.idField, metaFields: flags.metaField,
        image: flags.imageField && flags.imageFeatures !== 'none' ? { backbone: flags.imageFeatures, ...(flags.imageModel ? { modelDir: flags.imageModel } : {}), ...(flags.imageLayer ? { layer: flags.imageLayer } : {}) } : null,
        text: flags.textField?.length && flags.textFeatures !== 'none' ? { name: flags.textFeatures, tfidf: { minDf: flags.minDf, maxFeatures: flags.maxFeatures, stopWords: !flags.keepStopWords, sublinearTf: true } } : null,
        skipBad: flags.skipBad, cacheDir: flags.cache ?? `${flags.out.replace(/\/+$/, '')}.cache`, valFraction: flags.valFraction,
        testFraction: flags.testFraction, seed: flags.seed, name: flags.name ?? basename(items).replace(/\.[^.]*$/, ''), warn, progress,
      });
      // --val-fraction was carved by the importer before the text featuriser was fitted.
      await save(spec, { ...flags, valFraction: undefined });
      console.error(`xmodal import: ${images}${((Date.now() - started) / 1000).toFixed(1)} s in all`);
    });

  withWriteFlags(program.command('synth').description('generate a labelled K-modal data set for tests and demos (labels drawn from a real label matrix)'))
    .option('--items <n>', 'number of items', String(synthDefaults.items))
    .option('--modalities <name=dim,...>', 'modalities and their dimensions', 'image=128,text=64')
    .option('--noise <s>', 'noise strength (0 = noiseless)', String(synthDefaults.noise))
    .option('--missing <name=rate,...>', 'share of items lacking each modality', '')
    .option('--seed <n>', 'random seed', String(synthDefaults.seed))
    .option('--labels-from <file[:var]>', 'label matrix to draw label sets from (default: MIRFlickr-25K, 24 labels)')
    .option('--label-names <file|list>', 'names of the labels in --labels-from')
    .action(async (raw: Record<string, unknown>) => {
      const flags = parseFlags(withWrite({ items: positiveInt, modalities: numberMap, noise: nonNegativeNumber, missing: numberMap, seed: nonNegativeInt, labelsFrom: z.string().optional(), labelNames: z.string().optional() }), raw);
      const labelSource = flags.labelsFrom ? await labelMatrixFrom(flags.labelsFrom, flags.labelNames ? parseLabelNames(flags.labelNames) : undefined) : await mirflickrLabels();
      await save(synthesize({ ...synthDefaults, items: flags.items, modalities: flags.modalities, noise: flags.noise, missing: flags.missing, seed: flags.seed, labelSource, name: 'synthetic' }), flags);
    });

  program.command('split-domains <dir>').description('a transfer scenario: source and target data sets split by label or at random, target features optionally shifted')
    .option('--target-labels <list>', 'comma-separated labels: items labelled only with these form the target')
    .option('--target-share <f>', 'or: this random share of the items forms the target')
    .option('--shift <s>', 'strength of a seeded random affine shift of the target features (0: none)', '0')
    .option('--seed <n>', 'seed of --target-share and --shift', '0')
    .requiredOption('--source-out <dir>', 'where to write the source domain')
    .requiredOption('--target-out <dir>', 'where to write the target domain')
    .option('--force', 'replace existing directories')
    .action((dir: string, raw: Record<string, unknown>) => {
      const flags = parseFlags(z.object({ targetLabels: z.string().optional(), targetShare: fraction.optional(), shift: nonNegativeNumber, seed: nonNegativeInt, sourceOut: z.string(), targetOut: z.string(), force: flag }), raw);
      const { source, target } = splitDomains(Dataset.open(dir), {
        ...(flags.targetLabels !== undefined ? { targetLabels: parseLabelNames(flags.targetLabels) } : {}),
        ...(flags.targetShare !== undefined ? { targetShare: flags.targetShare } : {}),
        shift: flags.shift,
        seed: flags.seed,
      });
      // Both checked before either is written, so a bad scenario leaves nothing behind.
      checkSpec(source);
      checkSpec(target);
      for (const out of [flags.sourceOut, flags.targetOut]) {
        if (!flags.force && existsSync(out)) throw new UserError(`${out}: already exists (use --force to replace it)`);
      }
      for (const [out, spec] of [[flags.sourceOut, source], [flags.targetOut, target]] as const) {
        writeDataset(out, spec, { force: flags.force });
        console.log(`wrote ${out}: ${spec.labels.data.length / spec.labels.names.length} items (${Object.entries(spec.splits).map(([k, v]) => `${k} ${v.length}`).join(', ')})`);
      }
    });

  program.command('label-embed').description('label-name vectors from a word-vector table (multi-word names averaged): a C x d .npy')
    .requiredOption('--labels <file|list>', 'label names, one per line or comma-separated')
    .requiredOption('--vectors <file>', 'GloVe/word2vec text table, wink-embeddings JSON, or {dim, labels, vectors} JSON')
    .requiredOption('--out <file.npy>', 'output matrix')
    .action((flags: { labels: string; vectors: string; out: string }) => {
      const names = parseLabelNames(flags.labels);
      const table = readWordVectors(flags.vectors);
      writeFileAtomically(flags.out, encodeNpy(labelEmbeddings(names, table), [names.length, table.dim]));
      console.log(`wrote ${flags.out}: ${names.length} x ${table.dim}`);
    });

  program.command('validate <dir>').description('check a data set: checksums, shapes, finite values, labels, splits')
    .option('--json', 'print the report as JSON')
    .action((dir: string, flags: { json?: boolean }) => {
      const report = validateDataset(Dataset.open(dir));
      if (flags.json) console.log(JSON.stringify(report, null, 2));
      else {
        for (const p of report.problems) console.log(`problem: ${p}`);
        for (const w of report.warnings) console.log(`warning: ${w}`);
        console.log(report.problems.length ? `${dir}: ${report.problems.length} problems` : `${dir}: valid`);
      }
      if (report.problems.length) throw new UserError(`${dir}: invalid data set`, 2);
    });

  program.command('info <dir>').description('counts per split, dimensions, label frequencies and co-occurrence, missing modalities')
    .option('--json', 'print as JSON')
    .action((dir: string, flags: { json?: boolean }) => {
      const info = datasetInfo(Dataset.open(dir));
      console.log(flags.json ? JSON.stringify(info, null, 2) : formatInfo(info));
    });
}
