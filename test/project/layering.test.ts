// The layers run one way (docs/architecture.md): every import under src/, type-only and dynamic ones included,
// is checked against the table below. A control feeds the checker imports it must refuse, so the test can fail.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { test } from 'node:test';
import { PACKAGE_ROOT } from '../../src/paths.js';

/** The files at src/'s root that every layer may use (errors, paths, version). */
const BASE = ['errors', 'paths', 'version'];
/** What each layer may import besides itself and BASE; '*' is the library root and the CLI, which assemble everything. */
const ALLOWED: Record<string, string[] | '*'> = {
  util: [],
  engine: ['util'],
  features: ['util', 'engine'],
  data: ['util', 'engine', 'features'],
  graph: ['util', 'engine'],
  methods: ['util', 'engine', 'graph'],
  eval: ['util', 'engine', 'data'],
  runs: ['util', 'engine', 'data', 'graph', 'methods'],
  train: ['util', 'engine', 'data', 'graph', 'methods', 'runs', 'eval'],
  index: ['util', 'engine', 'features', 'data', 'runs', 'eval'],
  serve: ['util', 'engine', 'features', 'data', 'runs', 'eval', 'index'],
  cli: '*',
  'index.ts': '*',
};

interface Import { file: string; target: string }

/** The layer of a path under src/: its first directory, or BASE / 'index.ts' for a root file. */
function layerOf(pathUnderSrc: string): string {
  const [first, ...rest] = pathUnderSrc.split('/');
  if (rest.length > 0) return first!;
  if (first === 'index.ts' || first === 'index.js') return 'index.ts';
  if (BASE.includes(first!.replace(/\.[jt]s$/, ''))) return 'base';
  return `root file ${first!}`;
}

function violations(imports: Import[]): string[] {
  const out: string[] = [];
  for (const { file, target } of imports) {
    const from = layerOf(file);
    const to = layerOf(target);
    if (to === from || to === 'base') continue;
    const allowed = from === 'base' ? [] : ALLOWED[from];
    if (allowed === undefined) out.push(`${file}: layer '${from}' is not in the table`);
    else if (allowed !== '*' && !allowed.includes(to)) out.push(`${file} imports ${target} (${from} -> ${to})`);
  }
  return out;
}

const SRC = join(PACKAGE_ROOT, 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []);
}

/** Relative specifiers of static, type-only, re-export and dynamic imports, resolved to paths under src/. */
function importsOf(path: string): Import[] {
  const text = readFileSync(path, 'utf8');
  const specs = [...text.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|^\s*import\s+)'(\.{1,2}\/[^']+)'/gm)].map((m) => m[1]!);
  const file = relative(SRC, path).split(sep).join('/');
  return specs.map((s) => ({ file, target: relative(SRC, resolve(dirname(path), s)).split(sep).join('/') }));
}

test('every import under src/ follows the layer table', () => {
  const files = sourceFiles(SRC);
  const imports = files.flatMap(importsOf);
  assert.ok(files.length > 50 && imports.length > 200, `read ${files.length} files, ${imports.length} imports`);
  for (const { file, target } of imports) assert.ok(!target.startsWith('..'), `${file} imports ${target}, outside src/`);
  const layers = new Set(files.map((f) => layerOf(relative(SRC, f).split(sep).join('/'))));
  for (const layer of layers) assert.ok(layer === 'base' || layer in ALLOWED, `src/${layer} is not in the layer table`);
  assert.deepEqual(violations(imports), []);
});

test('control: the checker refuses upward imports, type-only and dynamic ones included', () => {
  const probe = (file: string, line: string) => {
    const target = /'(\.[^']+)'/.exec(line)![1]!;
    const spec = [...`${line}\n`.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|^\s*import\s+)'(\.{1,2}\/[^']+)'/gm)];
    assert.equal(spec.length, 1, `the pattern sees ${line}`);
    return violations([{ file, target: join(dirname(file), target).split(sep).join('/') }]);
  };
  assert.deepEqual(probe('index/build.ts', "import type { TrainConfig } from '../train/trainer.js';"), ['index/build.ts imports train/trainer.js (index -> train)']);
  assert.deepEqual(probe('serve/server.ts', "const m = await import('../methods/dagnn.js');"), ['serve/server.ts imports methods/dagnn.js (serve -> methods)']);
  assert.deepEqual(probe('engine/ops.ts', "import '../data/dataset.js';"), ['engine/ops.ts imports data/dataset.js (engine -> data)']);
  assert.deepEqual(probe('methods/dagnn.ts', "export { x } from '../eval/metrics.js';"), ['methods/dagnn.ts imports eval/metrics.js (methods -> eval)']);
  assert.deepEqual(probe('errors.ts', "import { x } from './util/fs.js';"), ['errors.ts imports util/fs.js (base -> util)']);
  // and lets through what the table allows
  assert.deepEqual(probe('train/trainer.ts', "import { x } from '../methods/registry.js';"), []);
  assert.deepEqual(probe('cli/train.ts', "import { x } from '../train/trainer.js';"), []);
});
