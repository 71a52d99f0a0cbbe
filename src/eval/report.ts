// Evaluation results as JSON (every figure with its convention), a Markdown table, and an HTML report with
// precision-recall curves and per-class AP bars drawn with vega-lite (SVG, and PNG through resvg).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { writeDirectoryAtomically } from '../util/atomic-dir.js';
import type { RetrievalResult } from './metrics.js';

export const METRICS = ['map', 'map@k', 'p@k', 'ndcg@k', 'pr', 'per-class', 'recall@k'] as const;
export type MetricName = (typeof METRICS)[number];

export interface EvalReport {
  title: string;
  /** Direction name (image->text, query->retrieval, ...) -> result. */
  directions: Record<string, RetrievalResult>;
  averageMAP?: number;
}

export type SerializedResult = Omit<RetrievalResult, 'apPerQuery'>;

export interface SerializedReport {
  title: string;
  directions: Record<string, SerializedResult>;
  averageMAP?: number;
}

/** JSON-safe: drops per-query APs, turns NaN into null, keeps only the selected metrics. */
export function serializeReport(report: EvalReport, metrics: readonly MetricName[] = METRICS): SerializedReport {
  const want = new Set(metrics);
  const directions: Record<string, SerializedResult> = {};
  for (const [name, r] of Object.entries(report.directions)) {
    const { apPerQuery: _unused, ...rest } = r;
    const out: Partial<SerializedResult> & Record<string, unknown> = { ...rest };
    if (!want.has('map')) delete out.mAP;
    if (!want.has('map@k')) delete out.mapAtK;
    if (!want.has('p@k')) delete out.precisionAtK;
    if (!want.has('ndcg@k')) delete out.ndcgAtK;
    if (!want.has('pr')) { delete out.pr11; delete out.prCurve; }
    if (!want.has('per-class')) delete out.perClassAP;
    if (!want.has('recall@k')) { delete out.recallAtK; delete out.medianRank; delete out.meanRank; }
    directions[name] = out as SerializedResult;
  }
  const serialized: SerializedReport = { title: report.title, directions };
  if (report.averageMAP !== undefined) serialized.averageMAP = report.averageMAP;
  return JSON.parse(JSON.stringify(serialized, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v))) as SerializedReport;
}

/** A trained run's test result: RUN/result.json and `xmodal eval RUN --json` share this one shape. */
export interface RunResult extends SerializedReport {
  /** Transfer runs: R@1 + R@5 + R@10 of both directions, in percent. */
  rSum?: number;
  selection: string;
  bestEpoch: number;
  /** null when no epoch scored a finite selection score. */
  bestScore: number | null;
  split: string;
}

export function runResult(report: SerializedReport, run: { rSum?: number | undefined; selection: string; bestEpoch: number; bestScore: number; split: string }): RunResult {
  return {
    ...report,
    ...(run.rSum !== undefined ? { rSum: run.rSum } : {}),
    selection: run.selection,
    bestEpoch: run.bestEpoch,
    bestScore: Number.isFinite(run.bestScore) ? run.bestScore : null,
    split: run.split,
  };
}

const fmt = (v: number | null | undefined, digits = 4) => (v === null || v === undefined || Number.isNaN(v) ? '-' : v.toFixed(digits));

export function markdownTable(report: SerializedReport, metrics: readonly MetricName[] = METRICS): string {
  const want = new Set(metrics);
  const names = Object.keys(report.directions);
  const first = report.directions[names[0] as string];
  const rows: Array<[string, (r: SerializedResult) => string]> = [];
  if (want.has('map')) rows.push(['mAP@all', (r) => fmt(r.mAP)]);
  for (const k of Object.keys(first?.mapAtK ?? {})) if (want.has('map@k')) rows.push([`mAP@${k}`, (r) => fmt(r.mapAtK?.[k])]);
  for (const k of Object.keys(first?.precisionAtK ?? {})) if (want.has('p@k')) rows.push([`P@${k}`, (r) => fmt(r.precisionAtK?.[k])]);
  for (const k of Object.keys(first?.ndcgAtK ?? {})) if (want.has('ndcg@k')) rows.push([`NDCG@${k}`, (r) => fmt(r.ndcgAtK?.[k])]);
  if (want.has('recall@k')) {
    for (const k of Object.keys(first?.recallAtK ?? {})) rows.push([`R@${k}`, (r) => fmt(r.recallAtK?.[k])]);
    rows.push(['median rank', (r) => fmt(r.medianRank, 1)]);
  }
  rows.push(['queries evaluated', (r) => `${r.queries.evaluated} of ${r.queries.total}`]);
  const lines = [`| metric | ${names.join(' | ')} |`, `|---|${names.map(() => '---|').join('')}`];
  for (const [label, get] of rows) lines.push(`| ${label} | ${names.map((n) => get(report.directions[n] as SerializedResult)).join(' | ')} |`);
  if (report.averageMAP !== undefined && want.has('map')) lines.push('', `Average mAP@all over the directions: ${fmt(report.averageMAP)}`);
  const conventions = first?.conventions ?? {};
  lines.push('', 'Conventions:', ...Object.entries(conventions).map(([k, v]) => `- ${k}: ${v}`));
  return lines.join('\n');
}

/** Side-by-side mAP table of several saved results (xmodal eval --compare). */
export function comparisonTable(reports: Array<{ name: string; report: SerializedReport }>): string {
  const directions = [...new Set(reports.flatMap((r) => Object.keys(r.report.directions)))];
  const lines = [`| run | ${directions.map((d) => `mAP ${d}`).join(' | ')} | average |`, `|---|${directions.map(() => '---|').join('')}---|`];
  for (const { name, report } of reports) {
    const maps = directions.map((d) => report.directions[d]?.mAP);
    const present = maps.filter((m): m is number => typeof m === 'number');
    const average = report.averageMAP ?? (present.length ? present.reduce((a, b) => a + b, 0) / present.length : undefined);
    lines.push(`| ${name} | ${maps.map((m) => fmt(m)).join(' | ')} | ${fmt(average)} |`);
  }
  return lines.join('\n');
}

function prSpec(report: SerializedReport): TopLevelSpec {
  const values = Object.entries(report.directions).flatMap(([direction, r]) =>
    (r.prCurve?.recall ?? []).map((recall, i) => ({ direction, recall, precision: r.prCurve!.precision[i] })));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Precision-recall (mean over queries)',
    width: 420, height: 300,
    data: { values },
    mark: { type: 'line', point: false },
    encoding: {
      x: { field: 'recall', type: 'quantitative', scale: { domain: [0, 1] } },
      y: { field: 'precision', type: 'quantitative', scale: { domain: [0, 1] } },
      color: { field: 'direction', type: 'nominal' },
    },
  };
}

function perClassSpec(report: SerializedReport): TopLevelSpec {
  const values = Object.entries(report.directions).flatMap(([direction, r]) =>
    Object.entries(r.perClassAP ?? {}).map(([label, ap]) => ({ direction, label, ap })));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'AP per class (mean over the queries of each class)',
    width: 420, height: { step: 12 },
    data: { values },
    mark: 'bar',
    encoding: {
      y: { field: 'label', type: 'nominal', sort: null, title: null },
      yOffset: { field: 'direction' },
      x: { field: 'ap', type: 'quantitative', scale: { domain: [0, 1] }, title: 'AP' },
      color: { field: 'direction', type: 'nominal' },
    },
  } as TopLevelSpec;
}

export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

export function svgToPng(svg: string): Buffer {
  return new Resvg(svg, { background: 'white', font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' } }).render().asPng();
}

const escapeHtml = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] as string);

/** Writes result.json, result.md, pr.svg/png, per-class.svg/png and report.html into `dir`, atomically. */
export async function writeReport(dir: string, report: SerializedReport, metrics: readonly MetricName[] = METRICS, force = false): Promise<string[]> {
  return writeDirectoryAtomically(dir, force, async (tmp) => {
    const files: Record<string, string | Buffer> = {
      'result.json': JSON.stringify(report, null, 2) + '\n',
      'result.md': `# ${report.title}\n\n${markdownTable(report, metrics)}\n`,
    };
    const figures: string[] = [];
    const hasCurves = Object.values(report.directions).some((r) => r.prCurve);
    const hasClasses = Object.values(report.directions).some((r) => r.perClassAP && Object.keys(r.perClassAP).length);
    for (const [name, enabled, spec] of [['pr', hasCurves, () => prSpec(report)], ['per-class', hasClasses, () => perClassSpec(report)]] as const) {
      if (!enabled) continue;
      const svg = await renderSvg(spec());
      files[`${name}.svg`] = svg;
      files[`${name}.png`] = svgToPng(svg);
      figures.push(name);
    }
    const table = markdownTable(report, metrics).split('\n');
    const htmlTable = table.filter((l) => l.startsWith('|') && !l.startsWith('|---')).map((l, i) => {
      const cells = l.split('|').slice(1, -1).map((c) => escapeHtml(c.trim()));
      const tag = i === 0 ? 'th' : 'td';
      return `<tr>${cells.map((c) => `<${tag}>${c}</${tag}>`).join('')}</tr>`;
    }).join('\n');
    const notes = table.filter((l) => l.startsWith('- ')).map((l) => `<li>${escapeHtml(l.slice(2))}</li>`).join('\n');
    files['report.html'] = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(report.title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25rem .6rem;text-align:right}th:first-child,td:first-child{text-align:left}img{max-width:100%}</style>
</head><body>
<h1>${escapeHtml(report.title)}</h1>
<table>
${htmlTable}
</table>
${report.averageMAP !== undefined ? `<p>Average mAP@all over the directions: ${fmt(report.averageMAP)}</p>` : ''}
<h2>Conventions</h2>
<ul>
${notes}
</ul>
${figures.map((f) => `<h2>${f === 'pr' ? 'Precision-recall' : 'AP per class'}</h2>\n<img src="${f}.svg" alt="${f}">`).join('\n')}
</body></html>
`;
    for (const [name, content] of Object.entries(files)) writeFileSync(join(tmp, name), content);
    return Object.keys(files);
  });
}
