// The research code's split-file layouts:
// - GNN4CMR / ALGCN: {train,test}_{img,txt,lab}.mat, each holding the variable of the same name; labels multi-hot.
// - DSCMR: {train,test}_{img,txt}.mat with {train,test}_img_lab.mat class indices.
// Row i of every file of a split is the same item.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../../errors.js';
import { readMatrix, toMultiHot, type Matrix } from '../formats/matrix.js';
import type { DatasetSpec, ModalitySpec } from '../writer.js';
import { knownLabelNames } from './label-names.js';

export interface LayoutOptions {
  /** Accept a split whose image or text file is missing: its items then lack that modality. */
  partial?: boolean;
  labelNames?: string[];
  name?: string;
  /** Refuse more labels than this (class indices beyond it are taken as a mistake). */
  maxLabels?: number;
}

const modalityFiles = [{ name: 'image', stem: 'img' }, { name: 'text', stem: 'txt' }] as const;

function labelFile(dir: string, split: string): { path: string; indices: boolean } | undefined {
  for (const [stem, indices] of [['lab', false], ['img_lab', true], ['txt_lab', true]] as const) {
    const path = join(dir, `${split}_${stem}.mat`);
    if (existsSync(path)) return { path, indices };
  }
  return undefined;
}

export async function importLayout(dir: string, options: LayoutOptions = {}): Promise<DatasetSpec> {
  if (!existsSync(dir)) throw new UserError(`${dir}: no such directory`);
  const splitNames = ['train', 'val', 'test'].filter((s) => labelFile(dir, s));
  if (!splitNames.includes('train') && !splitNames.includes('test')) {
    throw new UserError(`${dir}: no {train,test}_lab.mat or {train,test}_img_lab.mat (files: ${readdirSync(dir).join(', ')})`);
  }
  const parts: Array<{ split: string; labels: Matrix; labelIsIndex: boolean; features: Map<string, Matrix> }> = [];
  for (const split of splitNames) {
    const lab = labelFile(dir, split)!;
    const labels = await readMatrix(`${lab.path}:${split}_${lab.path.endsWith('_img_lab.mat') ? 'img_lab' : lab.path.endsWith('_txt_lab.mat') ? 'txt_lab' : 'lab'}`);
    const features = new Map<string, Matrix>();
    for (const m of modalityFiles) {
      const path = join(dir, `${split}_${m.stem}.mat`);
      if (!existsSync(path)) {
        if (options.partial) continue;
        throw new UserError(`${path}: missing (use --partial to import ${split} items without their ${m.name})`);
      }
      const matrix = await readMatrix(`${path}:${split}_${m.stem}`);
      if (matrix.rows !== labels.rows) throw new UserError(`${matrix.source}: ${matrix.rows} rows, but ${labels.source} has ${labels.rows}`);
      features.set(m.name, matrix);
    }
    parts.push({ split, labels, labelIsIndex: lab.indices, features });
  }
  // One label convention for all splits: class indices share their base (0 or 1) and count.
  const indexParts = parts.filter((p) => p.labelIsIndex || p.labels.cols === 1);
  let base: number | undefined;
  let classes: number | undefined;
  if (indexParts.length) {
    let min = Infinity;
    let max = -Infinity;
    for (const p of indexParts) for (const v of p.labels.values) { min = Math.min(min, v); max = Math.max(max, v); }
    base = min === 0 ? 0 : 1;
    classes = max - base + 1;
  }
  const hots = parts.map((p) => toMultiHot(p.labels, classes, base, options.maxLabels));
  const C = options.labelNames?.length ?? hots[0]!.classes;
  hots.forEach((h, i) => {
    if (h.classes !== C) throw new UserError(`${parts[i]!.labels.source}: ${h.classes} labels, expected ${C}`);
  });
  const N = parts.reduce((s, p) => s + p.labels.rows, 0);
  const modalities: ModalitySpec[] = [];
  for (const m of modalityFiles) {
    const dims = new Set(parts.flatMap((p) => (p.features.has(m.name) ? [p.features.get(m.name)!.cols] : [])));
    if (dims.size === 0) continue;
    if (dims.size > 1) throw new UserError(`${dir}: ${m.name} dimensions differ between splits (${[...dims].join(', ')})`);
    const dim = [...dims][0] as number;
    const data = new Float32Array(N * dim);
    const present = new Uint8Array(N);
    let offset = 0;
    for (const p of parts) {
      const matrix = p.features.get(m.name);
      if (matrix) {
        data.set(matrix.values, offset * dim);
        present.fill(1, offset, offset + p.labels.rows);
      }
      offset += p.labels.rows;
    }
    modalities.push({ name: m.name, dim, data, present, source: `${dir}/*_${m.stem}.mat` });
  }
  const labels = new Uint8Array(N * C);
  const splits: Record<string, Int32Array> = {};
  let offset = 0;
  parts.forEach((p, i) => {
    labels.set(hots[i]!.data, offset * C);
    splits[p.split] = Int32Array.from({ length: p.labels.rows }, (_, j) => offset + j);
    offset += p.labels.rows;
  });
  const labelNames = options.labelNames ?? knownLabelNames(C) ?? Array.from({ length: C }, (_, i) => `label${i}`);
  return {
    name: options.name ?? 'imported',
    modalities,
    labels: { names: labelNames, data: labels, source: parts[0]!.labels.source },
    splits,
    provenance: { source: dir, importer: 'layout', notes: `split files: ${splitNames.join(', ')}` },
  };
}
