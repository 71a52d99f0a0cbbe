import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';

/** A fresh temporary directory, removed when the test file ends. */
export function tempDir(prefix = 'xmodal-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Entries of a directory (to prove a failed write left nothing behind, temporary files included). */
export function entries(dir: string): string[] {
  return readdirSync(dir).sort();
}

export const SHARED_DATA = new URL('../../../../shared/data/', import.meta.url).pathname;

/**
 * For tests that read the real data beside the checkout (../shared/data, which CI has and a user's fresh clone
 * does not): the skip reason naming what is missing, or false. Under CI the test runs, and missing data fails it.
 */
export function needsShared(...names: string[]): string | false {
  const missing = names.filter((n) => !existsSync(join(SHARED_DATA, n)));
  return missing.length && !process.env.CI ? `needs ../shared/data/${missing.join(', ')} beside the checkout (not in a fresh clone)` : false;
}
