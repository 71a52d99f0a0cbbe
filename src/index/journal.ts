// A write-ahead journal beside an index snapshot. Each accepted write (an add batch, a removal) is one line,
// `CHECKSUM JSON`, appended and flushed to the disk (fsync) before the write is acknowledged, so a write costs
// what it adds, not a rewrite of the index. Loading an index replays its journal over the snapshot. A crash
// mid-append leaves a torn or corrupt last line: it is dropped with one warning and never loads as data; a bad
// line before the last is corruption and refused. Compaction folds the journal into a new snapshot atomically.
import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { open, truncate, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { UserError } from '../errors.js';
import { syncDirectory } from '../util/atomic-dir.js';
import { GroupCommit } from '../util/group-commit.js';
import { readBytes } from '../util/read-file.js';
import type { NewItem, SearchIndex } from './search-index.js';

export const JOURNAL_FILE = 'journal.jsonl';

const RecordSchema = z.discriminatedUnion('op', [
  z.object({
    op: z.literal('add'),
    /** Embeddings as given to SearchIndex.add (before normalisation), float32 little-endian in base64. */
    items: z.array(z.object({ id: z.string(), labels: z.array(z.string()), metadata: z.record(z.string(), z.unknown()), embeddings: z.record(z.string(), z.string()) })),
  }),
  z.object({ op: z.literal('remove'), id: z.string() }),
]);
type JournalRecord = z.infer<typeof RecordSchema>;

const checksum = (json: string) => createHash('sha256').update(json).digest('hex').slice(0, 16);

function line(record: JournalRecord): string {
  const json = JSON.stringify(record);
  return `${checksum(json)} ${json}\n`;
}

const encodeVector = (v: Float32Array) => Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');

function decodeVector(text: string): Float32Array {
  const bytes = new Uint8Array(Buffer.from(text, 'base64')); // a copy: aligned for the Float32Array view
  if (bytes.length % 4 !== 0) throw new Error('an embedding is not whole float32 values');
  return new Float32Array(bytes.buffer);
}

export interface JournalContents {
  records: JournalRecord[];
  /** Bytes of the complete, checked lines: what a writer keeps before appending. */
  goodBytes: number;
  /** Set when a torn or corrupt last line was dropped. */
  warning?: string;
}

/** The journal's complete, checked records; a torn or corrupt last line is dropped with a warning. */
export function readJournal(dir: string): JournalContents {
  const path = join(dir, JOURNAL_FILE);
  if (!existsSync(path)) return { records: [], goodBytes: 0 };
  const bytes = readBytes(path, 'the index journal');
  const records: JournalRecord[] = [];
  let start = 0;
  let lineNo = 0;
  while (start < bytes.length) {
    lineNo++;
    const end = bytes.indexOf(0x0a, start);
    const last = end < 0 || end === bytes.length - 1;
    const text = bytes.subarray(start, end < 0 ? bytes.length : end).toString('utf8');
    const space = text.indexOf(' ');
    const json = text.slice(space + 1);
    let record: JournalRecord | undefined;
    if (end >= 0 && space === 16 && checksum(json) === text.slice(0, 16)) {
      try {
        record = RecordSchema.parse(JSON.parse(json));
      } catch {
        record = undefined;
      }
    }
    if (!record) {
      const why = end < 0 ? 'an incomplete last record' : 'a corrupt record';
      if (!last) throw new UserError(`${path}: line ${lineNo} is ${why} followed by others (the journal is corrupt; restore the index from a backup)`);
      return { records, goodBytes: start, warning: `${path}: line ${lineNo}: ${why} (a write interrupted by a crash, never acknowledged) was dropped` };
    }
    records.push(record);
    start = end + 1;
  }
  return { records, goodBytes: start };
}

/** Applies the journal's records to an index just loaded from its snapshot; returns the warning of a dropped tail. */
export function replayJournal(index: SearchIndex, dir: string): string | undefined {
  const { records, warning } = readJournal(dir);
  records.forEach((record, i) => {
    try {
      if (record.op === 'remove') index.remove(record.id);
      else index.add(record.items.map((item) => ({ ...item, embeddings: Object.fromEntries(Object.entries(item.embeddings).map(([m, v]) => [m, decodeVector(v)])) })));
    } catch (error) {
      throw new UserError(`${join(dir, JOURNAL_FILE)}: record ${i + 1} does not apply to the snapshot: ${(error as Error).message} (the index is corrupt)`);
    }
  });
  return warning;
}

/** How the service's writes become durable: applied to the index, then acknowledged once on the disk. */
export interface IndexWriter {
  add(items: NewItem[]): Promise<void>;
  /** False when there is no such item (nothing is written). */
  remove(id: string): Promise<boolean>;
  /** Waits for writes in flight and closes the journal. */
  close(): Promise<void>;
}

export interface JournalOptions {
  /** Fold the journal into a new snapshot once it holds this many bytes (default 64 MiB). */
  compactBytes?: number;
}

/**
 * Appends each write to the journal of the index at `dir` (which must be the directory `index` was loaded from,
 * journal replayed). Writes are applied to the index at once (searches see the state before or after a write,
 * never half of one) and answered when their line is on the disk; lines of writes that arrive together share one
 * fsync. Compaction runs in the same queue after a flush, when the journal is past `compactBytes` or deleted items
 * hold more than a quarter of the slots; writes that arrive meanwhile wait for it.
 */
export class JournalWriter implements IndexWriter {
  private pending: string[] = [];
  private bytes: number;
  private compactRequested = false;
  private failed: Error | undefined;
  private nextCompaction: number;
  private readonly queue = new GroupCommit(() => this.flush());

  private constructor(private readonly index: SearchIndex, private readonly dir: string, private handle: FileHandle, private readonly compactBytes: number) {
    this.bytes = statSync(join(dir, JOURNAL_FILE)).size;
    this.nextCompaction = compactBytes;
  }

  static async open(index: SearchIndex, dir: string, options: JournalOptions = {}): Promise<JournalWriter> {
    const path = join(dir, JOURNAL_FILE);
    const { goodBytes } = readJournal(dir);
    // A torn tail (already reported by the load) is cut off so that new lines never follow it.
    if (existsSync(path) && statSync(path).size > goodBytes) {
      await truncate(path, goodBytes);
    }
    const handle = await open(path, 'a');
    await handle.sync();
    syncDirectory(dir); // the journal's directory entry, when this created it
    return new JournalWriter(index, dir, handle, options.compactBytes ?? 64 * 1024 * 1024);
  }

  private usable(): void {
    if (this.failed) throw new Error(`the journal of ${this.dir} could not be written (${this.failed.message}); writes are refused until the service restarts`);
  }

  async add(items: NewItem[]): Promise<void> {
    this.usable();
    this.index.add(items); // checks every item first: a refused batch changes nothing and writes nothing
    this.pending.push(line({ op: 'add', items: items.map((item) => ({ id: item.id, labels: item.labels, metadata: item.metadata, embeddings: Object.fromEntries(Object.entries(item.embeddings).map(([m, v]) => [m, encodeVector(v)])) })) }));
    await this.queue.commit();
  }

  async remove(id: string): Promise<boolean> {
    this.usable();
    if (!this.index.remove(id)) return false;
    this.pending.push(line({ op: 'remove', id }));
    await this.queue.commit();
    return true;
  }

  /** Folds the journal into a new snapshot now (`xmodal index compact` does the same offline). */
  async compact(): Promise<void> {
    this.compactRequested = true;
    await this.queue.commit();
  }

  async close(): Promise<void> {
    await this.queue.idle();
    await this.handle.close();
  }

  private async flush(): Promise<void> {
    if (this.pending.length) {
      const text = this.pending.splice(0).join('');
      try {
        await this.handle.appendFile(text);
        await this.handle.sync();
      } catch (error) {
        // A partial line would make every later line unreadable: cut back to the last whole one, and stop taking
        // writes (the index in memory now holds writes the disk does not).
        this.failed = error as Error;
        await this.handle.truncate(this.bytes).catch(() => {});
        throw error;
      }
      this.bytes += Buffer.byteLength(text);
    }
    const wasteful = this.index.deadSlots > 0 && this.index.deadSlots * 4 > this.index.size + this.index.deadSlots;
    if (!this.compactRequested && this.bytes < this.nextCompaction && !wasteful) return;
    const requested = this.compactRequested;
    this.compactRequested = false;
    // The snapshot captures the index synchronously when save() is called: lines queued since the flush above
    // describe writes it already holds, so they are set aside in the same synchronous step (their writers are
    // answered after the snapshot is durable, by the next pass of the queue).
    const swept = this.pending.splice(0);
    if (requested) this.index.compact();
    else this.index.compactIfWasteful();
    const saved = this.index.save(this.dir, true);
    await this.handle.close();
    try {
      await saved;
      this.bytes = 0;
      this.nextCompaction = this.compactBytes;
    } catch (error) {
      // The old snapshot and journal are intact (the new one never replaced them): keep appending there.
      this.pending.unshift(...swept);
      this.nextCompaction = this.bytes + this.compactBytes;
      console.error(`xmodal: warning: compacting ${this.dir} failed (${(error as Error).message}); the journal keeps the writes`);
    } finally {
      this.handle = await open(join(this.dir, JOURNAL_FILE), 'a');
      syncDirectory(this.dir);
    }
  }
}
