// One asynchronous interface over where an index lives: in this process (an embedded index: snapshot + journal)
// or in PostgreSQL with pgvector (pgvector.ts). The service, `xmodal search` and query.ts use only this, so every
// feature (filters, paging, batches, query expansion, writes) behaves the same on each engine; the contract test
// (test/index/contract.test.ts) holds them to it.
import type { QueryExpansion } from '../eval/rerank.js';
import type { IndexWriter } from './journal.js';
import { SearchIndex, type Filter, type Hit, type IndexManifest, type NewItem } from './search-index.js';

export interface ItemView extends Hit {
  modalities: string[];
}

export interface SearchOptions {
  k: number;
  offset?: number;
  filter?: Filter;
  expand?: QueryExpansion | undefined;
}

/** What a query or a featuriser needs to know about an index without touching its items. */
export interface IndexInfo {
  readonly manifest: IndexManifest;
  readonly modalities: string[];
}

export interface Collection extends IndexInfo {
  size(): Promise<number>;
  item(id: string): Promise<ItemView | undefined>;
  /** The stored (unit) embedding of an item in one modality; a one-line UserError when it has none. */
  embeddingOf(id: string, modality: string): Promise<Float32Array>;
  sample(n: number): Promise<ItemView[]>;
  /** Common-space query vectors (q x dim): the k best `to` items after `offset`, filter applied first. */
  search(to: string, queries: Float32Array, options: SearchOptions): Promise<Hit[][]>;
  /** All or nothing, and durable when the promise resolves (where the collection has durable storage). */
  add(items: NewItem[]): Promise<void>;
  /** False when there is no such item (nothing is written). */
  remove(id: string): Promise<boolean>;
  stats(): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

/** An index in this process; writes go through `writer` (its journal) when given, else to memory only. */
export class EmbeddedCollection implements Collection {
  private readonly writer: IndexWriter;

  constructor(readonly index: SearchIndex, writer?: IndexWriter) {
    this.writer = writer ?? { add: async (items) => index.add(items), remove: async (id) => index.remove(id), close: async () => {} };
  }

  get manifest(): IndexManifest {
    return this.index.manifest;
  }

  get modalities(): string[] {
    return this.index.modalities;
  }

  async size() {
    return this.index.size;
  }

  async item(id: string) {
    return this.index.item(id);
  }

  async embeddingOf(id: string, modality: string) {
    return this.index.embeddingOf(id, modality);
  }

  async sample(n: number) {
    return this.index.sample(n);
  }

  async search(to: string, queries: Float32Array, options: SearchOptions) {
    return this.index.search(to, queries, options);
  }

  add(items: NewItem[]) {
    return this.writer.add(items);
  }

  remove(id: string) {
    return this.writer.remove(id);
  }

  async stats() {
    return this.index.stats();
  }

  close() {
    return this.writer.close();
  }
}

/** A SearchIndex (tests, the library's callers) or a collection, as a collection. */
export function asCollection(source: SearchIndex | Collection): Collection {
  return source instanceof SearchIndex ? new EmbeddedCollection(source) : source;
}
