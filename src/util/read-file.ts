// Reading a file the user named or xmodal wrote (a run's config.json, an index's files, an import's input):
// a missing, unreadable or corrupt file is one line naming it, never a stack trace.
import { readFileSync } from 'node:fs';
import type { z } from 'zod';
import { UserError } from '../errors.js';

/** The file's bytes; `note` is added to the message when it cannot be read ("the index is incomplete"). */
export function readBytes(path: string, note?: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new UserError(`${path}: cannot read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}${note ? ` (${note})` : ''}`);
  }
}

export function readJsonFile(path: string): unknown {
  const text = readBytes(path).toString('utf8');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UserError(`${path}: not valid JSON (${(error as Error).message}); the file is corrupt`);
  }
}

/** A JSON file checked against a schema: the first wrong field named in one line. */
export function readJsonFileAs<T>(path: string, schema: z.ZodType<T>): T {
  const parsed = schema.safeParse(readJsonFile(path));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UserError(`${path}: field ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}; the file is corrupt or from another version`);
  }
  return parsed.data;
}
