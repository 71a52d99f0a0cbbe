// The one check a name from data passes before it becomes part of a file path (a modality, a split, an index's
// modality): letters, digits, _ and -, starting with a letter, at most 64 characters. No '.', '/', '\\' or
// '..' can get through, so `${name}.npy` always stays inside its directory. Reserved names would collide with
// files xmodal writes beside the modality files (labels.npy, split-*.npy, ...) or with query words.
import { z } from 'zod';
import { UserError } from '../errors.js';

export const SAFE_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
const SAFE_NAME_RULE = 'letters, digits, _ and -, starting with a letter, at most 64 characters';

/** Modality names that would overwrite or shadow another file of a data set or index, or a query keyword. */
export const RESERVED_MODALITY_NAMES = ['labels', 'label-embeddings', 'dataset', 'metadata', 'items', 'live', 'index', 'aggregate', 'id', 'split', 'meta'] as const;

/** The zod form of the rule, for manifests read back from disk. */
export const safeName = z.string().regex(SAFE_NAME, SAFE_NAME_RULE);
export const modalityName = safeName.refine((n) => !isReservedModality(n), 'a reserved name (labels, dataset, metadata, split-..., aggregate, ...)');

function isReservedModality(name: string): boolean {
  return (RESERVED_MODALITY_NAMES as readonly string[]).includes(name.toLowerCase()) || /^split-/i.test(name);
}

/** Throws a one-line UserError unless `name` is safe; `what` says where it came from ("modality", "split"). */
export function checkSafeName(name: string, what: string, where?: string): string {
  const prefix = where ? `${where}: ` : '';
  if (!SAFE_NAME.test(name)) throw new UserError(`${prefix}${what} name ${JSON.stringify(name)} is not allowed: use ${SAFE_NAME_RULE}`);
  return name;
}

export function checkModalityName(name: string, where?: string): string {
  checkSafeName(name, 'modality', where);
  if (isReservedModality(name)) throw new UserError(`${where ? `${where}: ` : ''}modality name '${name}' is reserved (${RESERVED_MODALITY_NAMES.join(', ')}, split-...): rename it`);
  return name;
}

/**
 * The check an index name passes before it becomes part of a PostgreSQL table name (index/pgvector.ts): lower-case
 * letters, digits and _, starting with a letter, at most 40 characters, so the table name stays under PostgreSQL's
 * 63-byte limit (longer names are silently cut, and two indexes could share a table) and needs no case folding.
 * Identifiers are quoted as well.
 */
export const TABLE_NAME = /^[a-z][a-z0-9_]{0,39}$/;

export function checkTableName(name: string, what = 'index'): string {
  if (!TABLE_NAME.test(name)) throw new UserError(`${what} name ${JSON.stringify(name)} is not allowed in a database: use lower-case letters, digits and _, starting with a letter, at most 40 characters`);
  return name;
}
