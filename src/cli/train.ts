// xmodal train, and the commands that use a trained run: eval RUN, embed.
import type { Command } from 'commander';
import { UserError } from '../errors.js';
import { train } from '../train/trainer.js';
import { collect, nonNegativeInt, nonNegativeNumber, oneOf, positiveInt } from './options.js';
import { trainReporter } from './progress.js';

/** "--option key=value": numbers and booleans are parsed, lists are comma-separated strings. */
export function parseMethodOptions(pairs: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UserError(`--option '${pair}': expected KEY=VALUE`);
    const key = pair.slice(0, eq);
    const raw = pair.slice(eq + 1);
    out[key] = raw === 'true' ? true : raw === 'false' ? false : raw !== '' && Number.isFinite(Number(raw)) ? Number(raw) : raw.includes(',') ? raw.split(',') : raw;
  }
  return out;
}

interface TrainFlags {
  method: string;
  data?: string;
  source?: string;
  target?: string;
  out: string;
  preset?: string;
  option?: string[];
  epochs?: string;
  batchSize?: string;
  lr?: string;
  lrSchedule?: string;
  seed: string;
  selectOn: string;
  valFraction: string;
  trackTest?: boolean;
  refit?: boolean;
  missing: string;
  reconstruct?: boolean;
  reconstructEpochs: string;
  reconstructLr: string;
  reconstructOptimizer: string;
  reconstructArgOrder: string;
  resume?: boolean;
  checkpointSeconds?: string;
  force?: boolean;
  json?: boolean;
}

/** With --resume a run continues with the settings it recorded; these may only be given to start a run. */
const FIXED_ON_RESUME = ['method', 'data', 'source', 'target', 'preset', 'option', 'epochs', 'batchSize', 'lr', 'lrSchedule', 'seed', 'selectOn', 'valFraction', 'trackTest', 'refit', 'missing',
  'reconstruct', 'reconstructEpochs', 'reconstructLr', 'reconstructOptimizer', 'reconstructArgOrder', 'force'] as const;

const flagName = (key: string) => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

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
    .option('--resume', 'continue an interrupted run exactly where its last checkpoint left it (needs only --out; its recorded settings apply)')
    .option('--checkpoint-seconds <s>', 'write the resume checkpoint when this many seconds passed since the last one (default 60; also after the last epoch)')
    .option('--force', 'replace an existing run directory')
    .option('--json', 'NDJSON events on stdout instead of progress')
    .action(async (f: TrainFlags, command: Command) => {
      const checkpointSeconds = f.checkpointSeconds !== undefined ? { checkpointSeconds: nonNegativeNumber('--checkpoint-seconds', f.checkpointSeconds) } : {};
      if (f.resume) {
        const given = FIXED_ON_RESUME.filter((key) => command.getOptionValueSource(key) === 'cli');
        if (given.length) throw new UserError(`${given.map(flagName).join(', ')}: not taken with --resume (the run continues with the settings in ${f.out}/config.json; start a new run with --force to change them)`);
        await train({ method: '', data: '', out: f.out, ...checkpointSeconds }, { onEvent: trainReporter(f.json ?? false), resume: true });
        return;
      }
      if (!f.method) throw new UserError('--method is required (except with --resume)');
      if (f.source && f.data && f.source !== f.data) throw new UserError('--source and --data name the same thing: give one');
      const data = f.data ?? f.source;
      if (!data) throw new UserError('--data is required (except with --resume)');
      if (f.selectOn !== 'val' && f.selectOn !== 'test') throw new UserError(`--select-on: '${f.selectOn}' is not val or test`);
      if (f.missing !== 'mask' && f.missing !== 'zero-fill') throw new UserError(`--missing: '${f.missing}' is not mask or zero-fill`);
      await train({
        method: f.method,
        ...checkpointSeconds,
        ...(f.preset ? { preset: f.preset } : {}),
        options: parseMethodOptions(f.option ?? []),
        data,
        ...(f.target ? { target: f.target } : {}),
        out: f.out,
        ...(f.epochs ? { epochs: positiveInt('--epochs', f.epochs) } : {}),
        ...(f.batchSize ? { batchSize: positiveInt('--batch-size', f.batchSize) } : {}),
        ...(f.lr ? { lr: nonNegativeNumber('--lr', f.lr) } : {}),
        ...(f.lrSchedule ? { lrSchedule: oneOf('--lr-schedule', f.lrSchedule, ['constant', 'cosine'] as const) } : {}),
        seed: nonNegativeInt('--seed', f.seed),
        selectOn: f.selectOn,
        valFraction: nonNegativeNumber('--val-fraction', f.valFraction),
        trackTest: f.trackTest ?? false,
        refit: f.refit ?? false,
        missing: f.missing,
        ...(f.reconstruct ? {
          reconstruct: {
            epochs: positiveInt('--reconstruct-epochs', f.reconstructEpochs),
            lr: nonNegativeNumber('--reconstruct-lr', f.reconstructLr),
            optimizer: oneOf('--reconstruct-optimizer', f.reconstructOptimizer, ['sgd', 'adam'] as const),
            argOrder: oneOf('--reconstruct-arg-order', f.reconstructArgOrder, ['paper', 'official-code'] as const),
          },
        } : {}),
      }, { onEvent: trainReporter(f.json ?? false), force: f.force ?? false });
    });
}
