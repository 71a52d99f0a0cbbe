// Directory outputs (data sets, reports, runs) are written into a temporary sibling and renamed into place
// when complete, so a failure or interruption never leaves a half-written directory, and an existing one is
// replaced (with `force`) only once its successor is complete.
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { UserError } from '../errors.js';

function begin(dir: string, force: boolean): { target: string; tmp: string } {
  const target = resolve(dir);
  if (existsSync(target) && !force) throw new UserError(`${dir}: already exists (use --force to replace it)`);
  mkdirSync(dirname(target), { recursive: true });
  const tmp = join(dirname(target), `.${basename(target)}.tmp-${process.pid}-${Date.now()}`);
  mkdirSync(tmp);
  return { target, tmp };
}

function commit(tmp: string, target: string): void {
  if (!existsSync(target)) {
    renameSync(tmp, target);
    return;
  }
  const old = `${tmp}.old`;
  renameSync(target, old);
  try {
    renameSync(tmp, target);
  } catch (error) {
    renameSync(old, target);
    throw error;
  }
  rmSync(old, { recursive: true, force: true });
}

export function writeDirectoryAtomicallySync<T>(dir: string, force: boolean, fill: (tmp: string) => T): T {
  const { target, tmp } = begin(dir, force);
  try {
    const result = fill(tmp);
    commit(tmp, target);
    return result;
  } catch (error) {
    rmSync(tmp, { recursive: true, force: true });
    throw error;
  }
}

export async function writeDirectoryAtomically<T>(dir: string, force: boolean, fill: (tmp: string) => Promise<T>): Promise<T> {
  const { target, tmp } = begin(dir, force);
  try {
    const result = await fill(tmp);
    commit(tmp, target);
    return result;
  } catch (error) {
    rmSync(tmp, { recursive: true, force: true });
    throw error;
  }
}

/** A single file written to a temporary sibling, then renamed over the target. */
export function writeFileAtomically(path: string, data: string | Uint8Array, force = true): void {
  const target = resolve(path);
  if (existsSync(target) && !force) throw new UserError(`${path}: already exists (use --force to replace it)`);
  mkdirSync(dirname(target), { recursive: true });
  const tmp = join(dirname(target), `.${basename(target)}.tmp-${process.pid}-${Date.now()}`);
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, target);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw error;
  }
}
