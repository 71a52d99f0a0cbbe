#!/usr/bin/env node
// The `xmodal` command line. Each subcommand lives in its own module; this file only wires them up and turns
// user errors into one line and a non-zero exit code.
import { Command, CommanderError } from 'commander';
import { UserError } from '../errors.js';
import { VERSION } from '../version.js';
import { registerData } from './data.js';
import { registerDoctor } from './doctor.js';
import { registerEval } from './eval.js';
import { registerTrain } from './train.js';
import { registerEmbed } from './embed.js';
import { registerEnsemble } from './ensemble.js';
import { registerSearch } from './search.js';
import { registerServe } from './serve.js';

const program = new Command();
program
  .name('xmodal')
  .description('Supervised cross-modal retrieval: train, evaluate, index and serve shared embedding spaces')
  .version(VERSION)
  .exitOverride();

registerDoctor(program);
registerData(program);
registerEval(program);
registerTrain(program);
registerEnsemble(program);
registerEmbed(program);
registerSearch(program);
registerServe(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    process.exitCode = error.exitCode === 0 ? 0 : 2;
  } else if (error instanceof UserError) {
    console.error(`xmodal: ${error.message}`);
    process.exitCode = error.exitCode;
  } else {
    throw error;
  }
}
