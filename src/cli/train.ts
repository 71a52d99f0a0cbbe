// xmodal train, and the commands that use a trained run: eval RUN, embed.
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { UserError } from '../errors.js';
import { train } from '../train/trainer.js';
import { runPaths } from '../runs/files.js';
import { formatSeeds, parseSeeds, readSeedsFile, SEEDS_FILE, seedRunDir, summarizeSeeds, type SeedsFile } from '../runs/seeds.js';
import { writeFileAtomically } from '../util/atomic-dir.js';
import { z } from 'zod';
import { ReconstructSchema, TrainConfigSchema, type TrainConfigInput } from '../runs/config.js';
import { collect, flag, flagName, num, parseFlags } from './options.js';
import { trainReporter } from './progress.js';

/** "--option key=value": numbers and booleans are parsed; a comma-separated value is a list (of numbers where they are). */
export function parseMethodOptions(pairs: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UserError(`--option '${pair}': expected KEY=VALUE`);
    const key = pair.slice(0, eq);
    const raw = pair.slice(eq + 1);
    out[key] = raw === 'true' ? true : raw === 'false' ? false : raw.includes(',') ? raw.split(',').map(scalar) : scalar(raw);
  }
  return out;
}

/** A number where the text is one, else the text. */
const scalar = (raw: string): string | number => (raw.trim() !== '' && Number.isFinite(Number(raw)) ? Number(raw) : raw);

const config = TrainConfigSchema.shape;
const reconstruct = ReconstructSchema.shape;

/** The flags of xmodal train: each numeric one checked by the schema of the setting it feeds. */
const TrainFlagsSchema = z.object({
  method: z.string().optional(),
  data: z.string().optional(),
  source: z.string().optional(),
  target: z.string().optional(),
  out: z.string(),
  preset: z.string().optional(),
  option: z.array(z.string()).default([]),
  epochs: num(config.epochs),
  batchSize: num(config.batchSize),
  lr: num(config.lr),
  lrSchedule: config.lrSchedule,
  seed: num(config.seed),
  seeds: z.string().optional(),
  selectOn: config.selectOn,
  valFraction: num(config.valFraction),
  trackTest: flag,
  refit: flag,
  missing: config.missing,
  reconstruct: flag,
  reconstructEpochs: num(reconstruct.epochs),
  reconstructLr: num(reconstruct.lr),
  reconstructOptimizer: reconstruct.optimizer,
  reconstructArgOrder: reconstruct.argOrder,
  reconstructNormStatistics: reconstruct.normStatistics,
  resume: flag,
  checkpointSeconds: num(config.checkpointSeconds.optional()),
  force: flag,
  json: flag,
});

/** With --resume a run continues with the settings it recorded; these may only be given to start a run. */
const FIXED_ON_RESUME = ['method', 'data', 'source', 'target', 'preset', 'option', 'epochs', 'batchSize', 'lr', 'lrSchedule', 'seed', 'selectOn', 'valFraction', 'trackTest', 'refit', 'missing',
  'reconstruct', 'reconstructEpochs', 'reconstructLr', 'reconstructOptimizer', 'reconstructArgOrder', 'reconstructNormStatistics', 'force'] as const;

export function registerTrain(program: Command): void {
  program.command('train')
    .description('train a method on a data set into a run directory (config, metrics, checkpoints, best model, test result)')
    .option('--method <name>', 'dagnn, pgnn-con, ignn-con, dscmr, acmr, cca, scm, agat, vse or aeir (see docs/methods.md)')
    .option('--source <dir>', 'transfer methods (aeir): the source data set (same as --data)')
    .option('--target <dir>', 'transfer methods (aeir): the target domain; its training pairs are never read as pairs')
    .option('--data <dir>', 'xmodal data set directory (not needed with --resume)')
    .requiredOption('--out <dir>', 'run directory')
    .option('--preset <name>', 'published hyper-parameters: mirflickr, nus-wide, mscoco, wikipedia')
    .option('--option <key=value>', 'a method option over the preset (repeat), e.g. --option tau=0.2', collect)
    .option('--epochs <n>', 'epochs (default: the preset\'s)')
    .option('--batch-size <n>', 'batch size (default: the preset\'s)')
    .option('--lr <x>', 'Adam learning rate (default: the preset\'s)')
    .option('--lr-schedule <name>', 'constant (the official codes\') or cosine (decays toward 0 over the run); default: the preset\'s')
    .option('--seed <n>', 'random seed', '0')
    .option('--seeds <list>', 'one run per seed (0-4, or 0,3,7) in OUT/seed-N, then OUT/seeds.json with each test figure\'s mean and standard deviation; --resume continues such a job')
    .option('--select-on <split>', 'val (default) or test (the papers\' protocol, labelled as such)', 'val')
    .option('--val-fraction <f>', 'share of train carved out for validation when the data set has no val split', '0.1')
    .option('--track-test', 'also record test mAP every epoch (not used for selection)')
    .option('--refit', 'after choosing the epoch on validation, train a fresh model on train + validation for that many epochs; it becomes the run\'s model')
    .option('--missing <mode>', 'items lacking a modality: mask (losses use only what an item has) or zero-fill (the official code)', 'mask')
    .option('--reconstruct', 'after training, generate missing modalities with the model\'s generators and fine-tune (TPAMI modal reconstruction)')
    .option('--reconstruct-epochs <n>', 'epochs of the reconstruction stage', '40')
    .option('--reconstruct-lr <x>', 'its learning rate (official: SGD 1e-7 for MIRFlickr and MS-COCO, 1e-8 for NUS-WIDE)', '1e-7')
    .option('--reconstruct-optimizer <name>', 'sgd (official) or adam', 'sgd')
    .option('--reconstruct-arg-order <order>', 'paper (default) or official-code: main.py swaps alpha<->tau and beta<->gamma in this stage', 'paper')
    .option('--reconstruct-norm-statistics <mode>', 'update (official: batch-norm running statistics re-estimated in this stage) or frozen', 'update')
    .option('--resume', 'continue an interrupted run exactly where its last checkpoint left it (needs only --out; its recorded settings apply)')
    .option('--checkpoint-seconds <s>', 'write the resume checkpoint when this many seconds passed since the last one (default 60; also after the last epoch)')
    .option('--force', 'replace an existing run directory')
    .option('--json', 'NDJSON events on stdout instead of progress')
    .action(async (raw: Record<string, unknown>, command: Command) => {
      const f = parseFlags(TrainFlagsSchema, raw);
      const checkpointSeconds = f.checkpointSeconds !== undefined ? { checkpointSeconds: f.checkpointSeconds } : {};
      if (f.seeds !== undefined && command.getOptionValueSource('seed') === 'cli') throw new UserError('--seed and --seeds: give one');
      if (f.resume && existsSync(join(f.out, SEEDS_FILE))) {
        const given = FIXED_ON_RESUME.filter((key) => command.getOptionValueSource(key) === 'cli');
        if (given.length || f.seeds !== undefined) throw new UserError(`${[...given.map(flagName), ...(f.seeds !== undefined ? ['--seeds'] : [])].join(', ')}: not taken with --resume (the seeds and settings are in ${join(f.out, SEEDS_FILE)})`);
        await trainSeeds(f.out, readSeedsFile(f.out), f.json, checkpointSeconds);
        return;
      }
      if (f.resume) {
        const given = FIXED_ON_RESUME.filter((key) => command.getOptionValueSource(key) === 'cli');
        if (given.length) throw new UserError(`${given.map(flagName).join(', ')}: not taken with --resume (the run continues with the settings in ${f.out}/config.json; start a new run with --force to change them)`);
        await train({ method: '', data: '', out: f.out, ...checkpointSeconds }, { onEvent: trainReporter(f.json), resume: true });
        return;
      }
      if (!f.method) throw new UserError('--method is required (except with --resume)');
      if (f.source && f.data && f.source !== f.data) throw new UserError('--source and --data name the same thing: give one');
      const data = f.data ?? f.source;
      if (!data) throw new UserError('--data is required (except with --resume)');
      const training = Object.fromEntries((['epochs', 'batchSize', 'lr', 'lrSchedule'] as const).filter((k) => f[k] !== undefined).map((k) => [k, f[k]]));
      const settings = {
        method: f.method,
        ...(f.preset ? { preset: f.preset } : {}),
        options: parseMethodOptions(f.option),
        data,
        ...(f.target ? { target: f.target } : {}),
        ...training,
        selectOn: f.selectOn,
        valFraction: f.valFraction,
        trackTest: f.trackTest,
        refit: f.refit,
        missing: f.missing,
        ...(f.reconstruct ? { reconstruct: { epochs: f.reconstructEpochs, lr: f.reconstructLr, optimizer: f.reconstructOptimizer, argOrder: f.reconstructArgOrder, normStatistics: f.reconstructNormStatistics } } : {}),
      };
      if (f.seeds !== undefined) {
        const seeds = parseSeeds(f.seeds);
        if (existsSync(f.out) && !f.force) throw new UserError(`${f.out} exists (use --force to replace it, or --resume to continue a --seeds job)`);
        rmSync(f.out, { recursive: true, force: true });
        mkdirSync(f.out, { recursive: true });
        const plan: SeedsFile = { format: 'xmodal-seeds', version: 1, seeds, train: settings };
        writeFileAtomically(join(f.out, SEEDS_FILE), JSON.stringify(plan, null, 2) + '\n');
        await trainSeeds(f.out, plan, f.json, checkpointSeconds);
        return;
      }
      await train({ ...settings, ...checkpointSeconds, out: f.out, seed: f.seed }, { onEvent: trainReporter(f.json), force: f.force });
    });
}

/**
 * Trains every seed of a --seeds job that has not finished (resuming one that has a checkpoint), then writes
 * the summary into seeds.json and prints it.
 */
async function trainSeeds(out: string, plan: SeedsFile, json: boolean, checkpointSeconds: { checkpointSeconds?: number }): Promise<void> {
  for (const seed of plan.seeds) {
    const dir = seedRunDir(out, seed);
    const paths = runPaths(dir);
    if (existsSync(paths.result)) {
      if (!json) console.error(`seed ${seed}: finished earlier (${dir})`);
      continue;
    }
    if (!json) console.error(`seed ${seed} (${plan.seeds.indexOf(seed) + 1} of ${plan.seeds.length}): ${dir}`);
    const resume = existsSync(join(paths.checkpoint, 'meta.json'));
    if (resume) await train({ method: '', data: '', out: dir, ...checkpointSeconds }, { onEvent: trainReporter(json), resume: true });
    else await train({ ...(plan.train as TrainConfigInput), ...checkpointSeconds, out: dir, seed }, { onEvent: trainReporter(json), force: true });
  }
  const summary = summarizeSeeds(out, plan.seeds);
  writeFileAtomically(join(out, SEEDS_FILE), JSON.stringify({ ...plan, summary }, null, 2) + '\n');
  if (json) console.log(JSON.stringify({ event: 'seeds', summary }));
  else console.log(`${plan.seeds.length} seeds (${join(out, SEEDS_FILE)}):\n${formatSeeds(summary)}`);
}
