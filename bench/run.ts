// `npm run bench [-- filter...]`: prints one JSON line per figure. Filters match figure groups by name.
import { initEngine } from '../src/engine/engine.js';
import { benchSgemm, benchTrainingStep } from './engine.js';
import { benchEval, benchRerank } from './eval.js';
import { benchStepFloor, benchSteps, benchThreadSettings } from './methods.js';
import { benchFullRun, benchIncomplete, benchSynthetic, benchWikipedia, benchWikipediaSeeds } from './training.js';
import { benchExactScan, benchIndex, benchService } from './search.js';
import { benchMultimodal } from './multimodal.js';
import { benchStorage } from './storage.js';
import { benchPgvector } from './pgvector.js';
import { benchMediaProbe, benchMediaRetrieval, benchMediaSpeed } from './media.js';
import { benchTransfer } from './transfer.js';

const groups: Record<string, () => void | Promise<void>> = {
  sgemm: benchSgemm,
  step: benchTrainingStep,
  eval: benchEval,
  rerank: benchRerank,
  'method-steps': benchSteps,
  'thread-settings': benchThreadSettings,
  'step-floor': benchStepFloor,
  wikipedia: benchWikipedia,
  'full-run': benchFullRun,
  seeds: benchWikipediaSeeds,
  synthetic: benchSynthetic,
  incomplete: benchIncomplete,
  multimodal: benchMultimodal,
  transfer: benchTransfer,
  index: benchIndex,
  'exact-scan': benchExactScan,
  service: benchService,
  storage: benchStorage,
  'storage-pgvector': benchPgvector,
  'media-speed': benchMediaSpeed,
  'media-probe': benchMediaProbe,
  'media-retrieval': benchMediaRetrieval,
};

const filters = process.argv.slice(2);
const info = await initEngine();
console.error(`xmodal bench: native=${info.native.loaded} (${info.native.reason}) blas=${JSON.stringify(info.blas)}`);
// A filter that names a group exactly selects that group alone (`eval` is not also `media-retrieval`); any other
// filter selects every group whose name contains it.
const selected = (name: string) => filters.some((f) => (f in groups ? name === f : name.includes(f)));
for (const [name, run] of Object.entries(groups)) {
  if (filters.length && !selected(name)) continue;
  await run();
}
