// Builds the OpenBLAS addon during `npm ci`. A failed build must not fail the install: xmodal then runs on
// plain wasm, and the reason is kept in build/native-status.json for `xmodal doctor` and the warning line.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

function status(ok, reason) {
  mkdirSync('build', { recursive: true });
  writeFileSync('build/native-status.json', JSON.stringify({ ok, reason, at: new Date().toISOString() }) + '\n');
}

if (process.env.XMODAL_SKIP_NATIVE === '1') {
  status(false, 'build skipped: XMODAL_SKIP_NATIVE=1');
  process.exit(0);
}
const pc = spawnSync('pkg-config', ['--exists', 'openblas']);
if (pc.error || pc.status !== 0) {
  const reason = 'OpenBLAS not found by pkg-config (install Debian libopenblas-dev and pkg-config)';
  status(false, reason);
  console.warn(`xmodal: native kernels not built: ${reason}; using plain wasm`);
  process.exit(0);
}
// npm passes its bundled node-gyp and the header directory to install scripts; when run by hand, find both
// beside this Node, since node-gyp would otherwise try to download headers.
const prefix = dirname(dirname(process.execPath));
const gypScript = process.env.npm_config_node_gyp ?? join(prefix, 'lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js');
const args = [gypScript, 'rebuild'];
if (!process.env.npm_config_nodedir && existsSync(join(prefix, 'include/node/node_api.h'))) args.push(`--nodedir=${prefix}`);
const gyp = spawnSync(process.execPath, args, { stdio: ['ignore', 'inherit', 'pipe'], encoding: 'utf8' });
if (gyp.error || gyp.status !== 0) {
  const detail = gyp.error ? gyp.error.message : (gyp.stderr || '').trim().split('\n').slice(-3).join(' | ');
  const reason = `node-gyp rebuild failed: ${detail}`;
  status(false, reason);
  console.warn(`xmodal: native kernels not built: ${reason}; using plain wasm`);
  process.exit(0);
}
status(true, 'built');
