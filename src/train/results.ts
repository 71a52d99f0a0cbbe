// The selected model's test result: result.json (the shape of `xmodal eval RUN --json`) and result.md.
import type { CrossModalResult } from '../eval/crossmodal.js';
import { markdownTable, runResult, serializeReport } from '../eval/report.js';
import type { RecordedConfig } from '../runs/config.js';
import { runPaths } from '../runs/files.js';
import { writeFileAtomically } from '../util/atomic-dir.js';

export interface TestOutcome {
  test: CrossModalResult;
  /** Transfer runs: R@1+R@5+R@10 of both directions on the target's test pairs, in percent. */
  rSum?: number | undefined;
}

export function writeTestResult(out: string, config: RecordedConfig, datasetName: string, outcome: TestOutcome, best: { epoch: number; score: number }): void {
  const paths = runPaths(out);
  const selected = { selection: config.selection, bestEpoch: best.epoch, bestScore: best.score, split: 'test' };
  const { test, rSum } = outcome;
  if (rSum !== undefined) {
    const report = serializeReport({ title: `${config.method} on ${datasetName}: test pairs (instance-level), model selected by ${config.selection}`, directions: test.directions });
    writeFileAtomically(paths.result, JSON.stringify(runResult(report, { rSum, ...selected }), null, 2) + '\n');
    writeFileAtomically(paths.resultMd, `# ${report.title}\n\nSelected epoch: ${best.epoch} (${config.selection}).\n\nrSum (R@1+R@5+R@10 of both directions, %): ${rSum.toFixed(1)}\n\n${markdownTable(report, ['recall@k', 'map'])}\n`);
    return;
  }
  const report = serializeReport({ title: `${config.method} on ${datasetName}: test split, model selected by ${config.selection}`, directions: test.directions, averageMAP: test.averageMAP });
  writeFileAtomically(paths.result, JSON.stringify(runResult(report, selected), null, 2) + '\n');
  writeFileAtomically(paths.resultMd, `# ${report.title}\n\nSelected epoch: ${best.epoch} (${config.selection}).\n\n${markdownTable(report)}\n`);
}
