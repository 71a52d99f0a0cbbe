import type { Command } from 'commander';
import { formatDoctor, runDoctor } from '../engine/doctor.js';

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description('check the numeric engine: Node, tfjs backend, native kernels, BLAS core, sgemm speed')
    .option('--seconds <s>', 'length of the sgemm measurement', '2')
    .option('--json', 'print the report as JSON')
    .action(async (options: { seconds: string; json?: boolean }) => {
      const seconds = Number(options.seconds);
      const report = await runDoctor(Number.isFinite(seconds) && seconds > 0 ? seconds : 2);
      console.log(options.json ? JSON.stringify(report, null, 2) : formatDoctor(report));
      if (!report.ok) process.exitCode = 1;
    });
}
