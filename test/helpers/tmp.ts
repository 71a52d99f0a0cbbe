import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
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
