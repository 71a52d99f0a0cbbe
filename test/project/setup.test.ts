// scripts/setup.sh waits for another apt/dpkg process's lock instead of giving up at once, and says what it
// actually did. apt-get, pkg-config and npm are stand-ins on PATH; the script itself runs for real.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { tempDir } from '../helpers/tmp.js';

const root = process.getuid?.() === 0;

function fakeBin(dir: string, lockedCalls: number): void {
  const tool = (name: string, body: string) => {
    writeFileSync(join(dir, name), `#!/usr/bin/env bash\n${body}\n`);
    chmodSync(join(dir, name), 0o755);
  };
  // apt-get: the first `lockedCalls` calls find the lock held, as when unattended-upgrades runs.
  tool('apt-get', `n=$(cat "${dir}/calls" 2>/dev/null || echo 0); echo $((n+1)) > "${dir}/calls"; echo "apt-get $*" >> "${dir}/log"
if [ "$n" -lt ${lockedCalls} ]; then echo "E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 4242 (unattended-upgr)" >&2; exit 100; fi; exit 0`);
  tool('pkg-config', 'exit 1');
  tool('npm', 'exit 0');
}

test('setup waits for the dpkg lock, then installs and reports it', { skip: root ? false : 'needs root (the script installs with apt-get as root)' }, () => {
  const bin = tempDir();
  fakeBin(bin, 2);
  const r = spawnSync('bash', [join(PACKAGE_ROOT, 'scripts/setup.sh')], { encoding: 'utf8', env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, XMODAL_APT_LOCK_WAIT: '30' } });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /another apt\/dpkg process holds the lock; waiting/);
  assert.match(r.stderr, /xmodal setup: installed libopenblas-dev pkg-config/);
  assert.match(r.stderr, /xmodal setup: native kernels (\(OpenBLAS\) built|not built)/);
  assert.match(readFileSync(join(bin, 'log'), 'utf8'), /apt-get -o DPkg::Lock::Timeout=30 install -y -qq libopenblas-dev pkg-config/);
});

test('setup gives up after its bounded wait and says the install failed', { skip: root ? false : 'needs root' }, () => {
  const bin = tempDir();
  fakeBin(bin, 1000);
  const r = spawnSync('bash', [join(PACKAGE_ROOT, 'scripts/setup.sh')], { encoding: 'utf8', env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, XMODAL_APT_LOCK_WAIT: '1' } });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /could not install libopenblas-dev pkg-config/);
  assert.doesNotMatch(r.stderr, /xmodal setup: installed/);
});

test('.ci/run runs exactly the README\'s test command', () => {
  const readme = readFileSync(join(PACKAGE_ROOT, 'README.md'), 'utf8');
  const step = readme.slice(readme.indexOf('Install everything and run the whole test suite'));
  const command = /```sh\n\s*(.+?)\n\s*```/.exec(step)?.[1]?.trim();
  assert.ok(command, 'the README names a test command');
  const commands = readFileSync(join(PACKAGE_ROOT, '.ci/run'), 'utf8').split('\n').map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#') && !l.startsWith('cd '));
  assert.deepEqual(commands, [command]);
});
