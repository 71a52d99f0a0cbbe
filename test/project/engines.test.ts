// A fresh install on the Node the README names prints no EBADENGINE warning: every locked package accepts it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import semver from 'semver';

const root = new URL('../../../', import.meta.url);
const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { engines: { node: string } };
const lock = JSON.parse(readFileSync(new URL('package-lock.json', root), 'utf8')) as { packages: Record<string, { version?: string; engines?: { node?: string } | string[] }> };

test('every locked package supports the oldest Node that package.json allows', () => {
  const oldest = semver.minVersion(pkg.engines.node)!.version;
  assert.equal(oldest, '20.19.0');
  const refused = Object.entries(lock.packages)
    .filter(([, p]) => p.engines && !Array.isArray(p.engines) && p.engines.node && !semver.satisfies(oldest, p.engines.node))
    .map(([name, p]) => `${name}@${p.version} needs node ${(p.engines as { node: string }).node}`);
  assert.deepEqual(refused, []);
});
