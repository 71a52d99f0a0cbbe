// Directory outputs (data sets, reports, runs) are written into a temporary sibling and renamed into place
// when complete, so a failure or interruption never leaves a half-written directory, and an existing one is
// replaced (with `force`) only once its successor is complete.
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { UserError } from '../errors.js';

/** Whether a process of this id runs (signal 0 only checks); EPERM means it runs as another user. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Temporary siblings of `target` left by a process that was killed mid-write (`.NAME.tmp-PID-TIME[.old]`):
 * removed at the next write to the same place. Those of a live process (another writer) are left alone.
 */
function removeStrays(target: string): void {
  const prefix = `.${basename(target)}.tmp-`;
  let names: string[];
  try {
    names = readdirSync(dirname(target));
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(/^(\d+)-/.exec(name.slice(prefix.length))?.[1]);
    if (Number.isInteger(pid) && pid > 0 && (pid === process.pid || alive(pid))) continue;
    rmSync(join(dirname(target), name), { recursive: true, force: true });
  }
}

let sequence = 0;

function begin(dir: string, force: boolean): { target: string; tmp: string } {
  const target = resolve(dir);
  if (existsSync(target) && !force) throw new UserError(`${dir}: already exists (use --force to replace it)`);
  mkdirSync(dirname(target), { recursive: true });
  removeStrays(target);
  const tmp = join(dirname(target), `.${basename(target)}.tmp-${process.pid}-${Date.now()}-${(sequence++).toString(36)}`);
  mkdirSync(tmp);
  return { target, tmp };
}

/** Writes a file and flushes it to the disk before resolving (fsync), for writes that are acknowledged to a client. */
export async function writeFileDurably(path: string, data: string | Uint8Array): Promise<void> {
  const handle = await open(path, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Flushes a file that another library wrote to the disk. */
export function syncFile(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Flushes a directory's entries (a rename into it) to the disk. */
export const syncDirectory = syncFile;

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
