// The Wikipedia benchmark (Rasiwasia et al., ACM MM 2010) in its distributed layout: raw_features.mat with
// I_tr/I_te (128-d SIFT bag of visual words) and T_tr/T_te (10-d LDA topics), the *_txt_img_cat.list files
// (text id, image id, category 1..10, in matrix row order) and categories.list.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../../errors.js';
import { matMatrix, readMat } from '../formats/mat5.js';
import { fitTextFeaturizer } from '../../features/text.js';
import type { TextFeaturizerName, TfidfOptions } from '../../features/state.js';
import type { DatasetSpec } from '../writer.js';
import { readJsonObjects } from './jsonl.js';

const defaultCategories = ['art', 'biology', 'geography', 'history', 'literature', 'media', 'music', 'royalty', 'sport', 'warfare'];

function readList(path: string): Array<{ textId: string; imageId: string; category: number }> {
  if (!existsSync(path)) throw new UserError(`${path}: no such file`);
  return readFileSync(path, 'utf8').split(/\r?\n/).filter((l) => l.trim()).map((line, i) => {
    const [textId, imageId, category] = line.split('\t');
    const c = Number(category);
    if (!textId || !imageId || !Number.isInteger(c)) throw new UserError(`${path}: line ${i + 1}: expected "text id<TAB>image id<TAB>category"`);
    return { textId, imageId, category: c };
  });
}

export interface WikipediaOptions {
  /** MAT variables of the image features, train then test (default I_tr, I_te). */
  imageVars?: [string, string];
  /** MAT variables of the text features, train then test (default T_tr, T_te). */
  textVars?: [string, string];
  /** Told about variables of the file that were not imported. */
  warn?: (message: string) => void;
  /**
   * The article texts (texts.jsonl: {id, title, text} a line, keyed by the lists' text ids). They become item
   * titles (metadata) and media texts, so the page shows what a result is. Default: DIR/texts.jsonl if present.
   */
  texts?: string | false;
  /** Replace the 10-d LDA text modality by xmodal's own featuriser of title + text, fitted on the train split. */
  textFeatures?: { name: TextFeaturizerName; tfidf: TfidfOptions };
}

interface ArticleText { title: string; text: string }

/** texts.jsonl by text id; every listed item must have its text. */
function readTexts(path: string): Map<string, ArticleText> {
  const texts = new Map<string, ArticleText>();
  for (const { no, item } of readJsonObjects(path)) {
    const [id, title, text] = ['id', 'title', 'text'].map((k) => item.get(k));
    if (typeof id !== 'string' || typeof title !== 'string' || typeof text !== 'string') throw new UserError(`${path}: line ${no}: expected {"id", "title", "text"} strings`);
    texts.set(id, { title, text });
  }
  return texts;
}

/** "--image-var I_tr,I_te" -> ['I_tr', 'I_te']. */
export function parseVarPair(option: string, value: string): [string, string] {
  const parts = value.split(',').map((s) => s.trim());
  if (parts.length !== 2 || parts.some((p) => !p)) throw new UserError(`${option}: '${value}' is not TRAIN_VAR,TEST_VAR (e.g. I_tr,I_te)`);
  return [parts[0]!, parts[1]!];
}

export async function importWikipedia(dir: string, options: WikipediaOptions = {}): Promise<DatasetSpec> {
  const matPath = join(dir, 'raw_features.mat');
  const mat = await readMat(matPath);
  const [imageTr, imageTe] = options.imageVars ?? ['I_tr', 'I_te'];
  const [textTr, textTe] = options.textVars ?? ['T_tr', 'T_te'];
  const used = new Set([imageTr, imageTe, textTr, textTe]);
  const unused = [...mat.variables.keys()].filter((v) => !used.has(v));
  if (unused.length) options.warn?.(`${matPath}: not imported: ${unused.join(', ')} (image ${imageTr},${imageTe} and text ${textTr},${textTe} were; choose others with --image-var and --text-var)`);
  const catPath = join(dir, 'categories.list');
  const categories = existsSync(catPath) ? readFileSync(catPath, 'utf8').split(/\r?\n/).map((s) => s.trim()).filter(Boolean) : defaultCategories;
  const parts = [
    { split: 'train', image: matMatrix(mat, imageTr), text: matMatrix(mat, textTr), list: readList(join(dir, 'trainset_txt_img_cat.list')), listName: 'trainset_txt_img_cat.list' },
    { split: 'test', image: matMatrix(mat, imageTe), text: matMatrix(mat, textTe), list: readList(join(dir, 'testset_txt_img_cat.list')), listName: 'testset_txt_img_cat.list' },
  ];
  const imageDim = parts[0]!.image.cols;
  const textDim = parts[0]!.text.cols;
  const N = parts.reduce((s, p) => s + p.list.length, 0);
  const image = new Float32Array(N * imageDim);
  const text = new Float32Array(N * textDim);
  const labels = new Uint8Array(N * categories.length);
  const metadata: Record<string, unknown>[] = [];
  const splits: Record<string, Int32Array> = {};
  let offset = 0;
  for (const p of parts) {
    const n = p.list.length;
    if (p.image.rows !== n || p.text.rows !== n) {
      throw new UserError(`${matPath}: ${p.split} has ${p.image.rows} image rows and ${p.text.rows} text rows, but ${p.listName} lists ${n} items`);
    }
    if (p.image.cols !== imageDim || p.text.cols !== textDim) throw new UserError(`${matPath}: train and test dimensions differ`);
    image.set(p.image.values, offset * imageDim);
    text.set(p.text.values, offset * textDim);
    p.list.forEach((item, i) => {
      if (item.category < 1 || item.category > categories.length) throw new UserError(`${join(dir, p.listName)}: line ${i + 1}: category ${item.category} outside 1..${categories.length}`);
      labels[(offset + i) * categories.length + item.category - 1] = 1;
      metadata.push({ id: item.imageId, textId: item.textId, imageId: item.imageId, category: categories[item.category - 1], split: p.split });
    });
    splits[p.split] = Int32Array.from({ length: n }, (_, i) => offset + i);
    offset += n;
  }
  const textsPath = options.texts === false ? undefined : options.texts ?? (existsSync(join(dir, 'texts.jsonl')) ? join(dir, 'texts.jsonl') : undefined);
  if (options.textFeatures && !textsPath) throw new UserError(`--text-features needs the article texts (${join(dir, 'texts.jsonl')} or --texts FILE)`);
  let media: DatasetSpec['media'];
  let textModality = { name: 'text', dim: textDim, data: text, source: `${matPath}:${textTr}/${textTe}` } as DatasetSpec['modalities'][number];
  if (textsPath) {
    const texts = readTexts(textsPath);
    const articles = metadata.map((m) => {
      const a = texts.get(m.textId as string);
      if (!a) throw new UserError(`${textsPath}: no text for text id '${m.textId as string}'`);
      return a;
    });
    articles.forEach((a, i) => (metadata[i]!.title = a.title));
    media = { entries: articles.map((a) => ({ text: a.text, image: null })), thumbnails: new Map() };
    if (options.textFeatures) {
      const raw = articles.map((a) => `${a.title}\n${a.text}`);
      const f = fitTextFeaturizer(options.textFeatures.name, Array.from(splits.train!, (i) => raw[i]!), options.textFeatures.tfidf);
      textModality = { name: 'text', dim: f.dim, data: f.featurize(raw), source: `${textsPath}: title + text`, featurizer: f.state };
    }
  }
  return {
    name: 'wikipedia',
    description: `Wikipedia cross-modal benchmark: 2,866 article sections with one image each, 10 categories; image = 128-bin SIFT bag of visual words, text = ${options.textFeatures ? `xmodal ${options.textFeatures.name} of the article title + text (${textModality.dim}-d)` : '10-topic LDA proportions'}.${textsPath ? ' With article titles and texts (Wikipedia, CC BY-SA).' : ''} Protocol: query = retrieval = test.`,
    modalities: [
      { name: 'image', dim: imageDim, data: image, source: `${matPath}:${imageTr}/${imageTe}` },
      textModality,
    ],
    labels: { names: categories, data: labels, source: join(dir, 'trainset_txt_img_cat.list') },
    splits,
    metadata,
    ...(media ? { media } : {}),
    provenance: {
      source: 'Rasiwasia et al., "A New Approach to Cross-Modal Multimedia Retrieval", ACM MM 2010 (SVCL, UC San Diego); derived features only',
      importer: 'wikipedia',
      notes: `Canonical split 2,173 train / 693 test. Published mAP on these features: SCM 0.277 image->text / 0.226 text->image; JFSSL 0.306 / 0.228.${textsPath ? ' Article titles and texts: Wikipedia, CC BY-SA (via the dataset\'s texts/*.xml).' : ''}${options.textFeatures ? ` Text modality: xmodal ${options.textFeatures.name} of title + text, fitted on train (not the LDA features of the papers).` : ''}`,
    },
  };
}
