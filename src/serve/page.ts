// The search page: a static HTML document, its style sheet and its script, served as three files so that the
// Content-Security-Policy can forbid inline script and style. Data from the index (ids, labels, metadata) is
// only ever put into the page as text (textContent, option labels, attribute values), never parsed as HTML.

/** Sent with every response: no inline or foreign script, no framing, no MIME sniffing, no referrer. */
export const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
} as const;

export const PAGE_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>xmodal search</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/app.css">
</head><body>
<h1>xmodal search</h1>
<p id="about"></p>
<form id="form">
  <select id="from" aria-label="query modality"></select> &rarr; <select id="to" aria-label="result modality"></select>
  <select id="kind" aria-label="query kind"><option value="item">item id</option><option value="text">text</option></select>
  <input type="text" id="query" placeholder="an item id" aria-label="query">
  <input type="number" id="k" value="10" min="1" max="100" aria-label="results">
  <button type="submit">Search</button>
</form>
<div id="labels"></div>
<p id="error" role="alert"></p>
<ol id="results"></ol>
<script src="/app.js"></script>
</body></html>
`;

export const PAGE_CSS = `body{font-family:system-ui,sans-serif;max-width:64rem;margin:1.5rem auto;padding:0 1rem;color:#222}
form{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center}
input[type=text]{flex:1;min-width:14rem;padding:.35rem} #k{width:4rem}
#labels label{margin-right:.6rem;white-space:nowrap}
ol{padding-left:1.5rem} li{margin:.4rem 0;cursor:pointer} li:hover{background:#f4f6fa}
.score{font-variant-numeric:tabular-nums;color:#555;margin-right:.5rem}.lab{background:#e8eefc;border-radius:3px;padding:0 .3rem;margin-right:.25rem;font-size:.85rem}
.meta{color:#666;font-size:.85rem} img{max-height:4rem;vertical-align:middle;margin-right:.5rem} #error{color:#b00}
`;

export const PAGE_JS = `'use strict';
const $ = (id) => document.getElementById(id);
// Every node is made here and filled with text: nothing from the index is ever parsed as HTML.
function el(tag, props, children) {
  const node = document.createElement(tag);
  Object.assign(node, props || {});
  for (const child of children || []) node.append(child);
  return node;
}
// Only plain web or same-site image addresses become an <img> (no javascript:, data: or other schemes).
function imageAddress(value) {
  if (typeof value !== 'string' || !/\\.(jpe?g|png|gif|webp)$/i.test(value)) return undefined;
  try {
    const url = new URL(value, location.href);
    return url.protocol === 'https:' || url.origin === location.origin ? url.href : undefined;
  } catch (e) {
    return undefined;
  }
}
async function start() {
  const info = await (await fetch('/info')).json();
  $('about').textContent = info.items + ' items of ' + info.dataset + ', ' + info.method + ' model, ' + info.engine + ' index';
  for (const m of info.modalities) { $('from').add(new Option(m.name, m.name)); $('to').add(new Option(m.name, m.name)); }
  if (info.modalities.length > 1) $('to').value = info.modalities[1].name;
  $('labels').replaceChildren('Only labels: ', ...info.labels.map((l) => el('label', {}, [el('input', { type: 'checkbox', value: l }), ' ', l])));
  $('kind').onchange = () => { $('query').placeholder = $('kind').value === 'item' ? 'an item id' : 'words'; };
}
function filter() {
  const any = [...document.querySelectorAll('#labels input:checked')].map((c) => c.value);
  return any.length ? { labelsAny: any } : undefined;
}
function result(hit) {
  const src = imageAddress(hit.metadata.image || hit.metadata.imageUrl || hit.metadata.url);
  const meta = Object.entries(hit.metadata).filter(([k]) => k !== 'id').map(([k, v]) => k + ': ' + (typeof v === 'string' ? v : JSON.stringify(v))).join(' \\u00b7 ');
  const li = el('li', { title: 'search from this item' }, [
    ...(src ? [el('img', { alt: '', src })] : []),
    el('span', { className: 'score', textContent: hit.score.toFixed(4) }),
    el('b', { textContent: hit.id }), ' ',
    ...hit.labels.map((l) => el('span', { className: 'lab', textContent: l })),
    el('div', { className: 'meta', textContent: meta }),
  ]);
  li.onclick = () => { $('from').value = $('to').value; $('kind').value = 'item'; $('query').value = hit.id; search($('from').value, 'item', hit.id); };
  return li;
}
async function search(from, kind, value) {
  $('error').textContent = '';
  const body = { from, to: $('to').value, k: Number($('k').value) || 10, filter: filter() };
  body[kind] = value;
  const r = await fetch('/search', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const data = await r.json();
  if (!r.ok) { $('error').textContent = data.error; $('results').replaceChildren(); return; }
  const hits = data.results[0];
  $('results').replaceChildren(...(hits.length ? hits.map(result) : [el('li', { textContent: 'No results.' })]));
}
$('form').onsubmit = (e) => { e.preventDefault(); search($('from').value, $('kind').value, $('query').value); };
start();
`;
