// How training reports itself: a progress bar on a terminal, one line per epoch otherwise, NDJSON with --json.
import type { TrainEvent } from '../train/trainer.js';

const fmt = (x: number) => (Math.abs(x) >= 100 ? x.toFixed(1) : x.toFixed(4));

export function trainReporter(json: boolean): (event: TrainEvent) => void {
  if (json) {
    return (event) => {
      if (event.type === 'step') return; // epochs carry the averages; per-step lines would flood scripts
      const { type, ...rest } = event;
      const payload = type === 'done' ? { dir: event.result.dir, bestEpoch: event.result.bestEpoch, bestScore: event.result.bestScore, selection: event.result.selection, test: event.result.test && Object.fromEntries(Object.entries(event.result.test.directions).map(([k, v]) => [k, event.result.rSum !== undefined ? v.recallAtK : v.mAP])), ...(event.result.rSum !== undefined ? { rSum: event.result.rSum } : {}) } : rest;
      process.stdout.write(JSON.stringify({ event: type, ...payload }) + '\n');
    };
  }
  const tty = Boolean(process.stderr.isTTY);
  let lastDraw = 0;
  return (event) => {
    if (event.type === 'start') {
      const c = event.config;
      process.stderr.write(`xmodal train: ${c.method}${c.preset ? ` (preset ${c.preset})` : ''} on ${c.dataset.name}: ${event.trainItems} training items, selection on ${event.selectionItems} (${c.selection})\n`);
      for (const note of event.notes) process.stderr.write(`xmodal train: note: ${note}\n`);
    } else if (event.type === 'step' && tty) {
      const now = Date.now();
      if (now - lastDraw < 100 && event.step !== event.steps) return;
      lastDraw = now;
      const width = 24;
      const filled = Math.round((width * event.step) / event.steps);
      process.stderr.write(`\r${event.stage ? `${event.stage} ` : ''}epoch ${event.epoch}/${event.epochs} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${event.step}/${event.steps} loss ${fmt(event.loss)}   `);
    } else if (event.type === 'epoch') {
      const r = event.record;
      const losses = Object.entries(r.losses).map(([k, v]) => `${k} ${fmt(v)}`).join(' ');
      const sel = Object.entries(r.selection.scores).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(', ');
      const total = r.selection.metric === 'rSum' ? `rSum ${r.selection.average.toFixed(1)}` : `mean ${r.selection.average.toFixed(4)}`;
      const test = r.test ? ` | test ${r.test.metric} ${fmt(r.test.average)}` : '';
      process.stderr.write(`${tty ? '\r' : ''}epoch ${r.epoch}/${event.epochs} ${r.seconds.toFixed(1)}s ${losses} | ${r.selection.split} ${r.selection.metric === 'rSum' ? 'R@K' : 'mAP'} ${sel}, ${total}${event.best ? ' *' : ''}${test}\n`);
    } else if (event.type === 'refit') {
      const losses = Object.entries(event.losses).map(([k, v]) => `${k} ${fmt(v)}`).join(' ');
      process.stderr.write(`${tty ? '\r' : ''}refit epoch ${event.epoch}/${event.epochs} ${event.seconds.toFixed(1)}s ${losses} (${event.trainItems} items)\n`);
    } else if (event.type === 'done') {
      const t = event.result.test;
      process.stderr.write(`best epoch ${event.result.bestEpoch} (${event.result.selection})\n`);
      if (t && event.result.rSum !== undefined) {
        const recalls = Object.entries(t.directions).map(([k, v]) => `${k} ${Object.entries(v.recallAtK).map(([n, r]) => `R@${n} ${(100 * r).toFixed(1)}`).join(' ')}`);
        process.stdout.write(`test pairs: ${recalls.join(', ')}, rSum ${event.result.rSum.toFixed(1)}\n`);
      } else if (t) process.stdout.write(`test mAP@all: ${Object.entries(t.directions).map(([k, v]) => `${k} ${v.mAP.toFixed(4)}`).join(', ')}, mean ${t.averageMAP.toFixed(4)}\n`);
    }
  };
}
