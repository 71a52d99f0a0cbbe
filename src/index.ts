// The xmodal library: what programs that embed xmodal import.
export { initEngine, tf, type EngineInfo } from './engine/engine.js';
export { Adam, adamDefaults, type AdamConfig } from './engine/adam.js';
export { gradReverse, stopGradient, l2Normalize, gatherRows } from './engine/ops.js';
export { createRng, normal, permutation } from './engine/random.js';
// Indexes and search: an embedded index (directory) or one in PostgreSQL with pgvector, behind one async Collection.
export { SearchIndex, type Filter, type Hit, type IndexManifest, type NewItem } from './index/search-index.js';
export { EmbeddedCollection, asCollection, type Collection, type ItemView, type SearchOptions } from './index/collection.js';
export { PgCollection, pgvectorDefaults, type PgvectorSettings } from './index/pgvector.js';
export { JournalWriter } from './index/journal.js';
export { loadRun } from './runs/load.js';
export { createServer, type ServeOptions } from './serve/server.js';
