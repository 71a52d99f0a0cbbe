// The search page: a static HTML document, its style sheet and its script, served as three files so that the
// Content-Security-Policy can forbid inline script and style. Data from the index (ids, labels, metadata) is
// only ever put into the page as text (textContent, option labels, attribute values), never parsed as HTML.

/** Sent with every response: no inline or foreign script, no framing, no MIME sniffing, no referrer. */
export const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob: https:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
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
  <div class="row">
    <select id="from" aria-label="query modality"></select> &rarr; <select id="to" aria-label="result modality"></select>
    <select id="kind" aria-label="query kind"><option value="item">item id</option><option value="text">words</option></select>
    <input type="number" id="k" value="10" min="1" max="100" aria-label="results">
  </div>
  <div class="row">
    <input type="search" id="query" placeholder="an item id" aria-label="query">
    <button type="submit">Search</button>
  </div>
  <label id="drop" hidden><input type="file" id="photo" accept="image/*"> <span>Drop a photo here or choose one</span></label>
</form>
<div id="labels"></div>
<div id="start"></div>
<p id="error" role="alert"></p>
<div id="shown"></div>
<ol id="results"></ol>
<script src="/app.js"></script>
</body></html>
`;

export const PAGE_CSS = `*{box-sizing:border-box}
body{font-family:system-ui,sans-serif;max-width:64rem;margin:1rem auto;padding:0 .75rem;color:#222}
h1{font-size:1.4rem;margin:.2rem 0}
form{display:flex;flex-direction:column;gap:.5rem}
.row{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center}
#query{flex:1;min-width:10rem;padding:.4rem} #k{width:4.5rem} select,button,input{font-size:1rem}
#drop{display:block;border:2px dashed #9ab;border-radius:6px;padding:.7rem;text-align:center;color:#456;cursor:pointer}
#drop.over{background:#eef4ff} #drop[hidden]{display:none}
#labels label{margin-right:.6rem;white-space:nowrap;display:inline-block}
#start button{margin:.2rem .3rem .2rem 0;max-width:100%;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
#shown{margin:.6rem 0;color:#333} #shown img{max-height:5rem;vertical-align:middle;margin-left:.5rem;border-radius:4px}
ol{padding-left:0;list-style:none} li{display:flex;gap:.6rem;margin:.4rem 0;padding:.35rem;border-radius:6px;cursor:pointer}
li:hover{background:#f4f6fa} li img{width:64px;height:64px;object-fit:contain;flex:none;background:#fff;border:1px solid #ddd;border-radius:4px}
.body{min-width:0;flex:1} .title{font-weight:600;overflow-wrap:anywhere}
.score{font-variant-numeric:tabular-nums;color:#555;margin-right:.5rem;font-size:.85rem}
.lab{background:#e8eefc;border-radius:3px;padding:0 .3rem;margin-right:.25rem;font-size:.85rem;white-space:nowrap}
.snippet,.meta{color:#555;font-size:.85rem;overflow-wrap:anywhere} #error{color:#b00}
`;

export const PAGE_JS = `'use strict';
const $ = (id) => document.getElementById(id);
let info;
// Every node is made here and filled with text: nothing from the index is ever parsed as HTML.
function el(tag, props, children) {
  const node = document.createElement(tag);
  Object.assign(node, props || {});
  for (const child of children || []) node.append(child);
  return node;
}
const modality = (name) => info.modalities.find((m) => m.name === name) || {};
const mediaUrl = (id, kind) => '/items/' + encodeURIComponent(id) + '/media/' + kind;
function title(hit) {
  return typeof hit.metadata.title === 'string' && hit.metadata.title ? hit.metadata.title : hit.id;
}
function updateKind() {
  $('query').placeholder = $('kind').value === 'item' ? 'an item id' : 'words, e.g. what you are looking for';
}
async function start() {
  info = await (await fetch('/info')).json();
  $('about').textContent = info.items + ' items of ' + info.dataset + ', ' + info.method + ' model, ' + info.engine + ' index';
  for (const m of info.modalities) { $('from').add(new Option(m.name, m.name)); $('to').add(new Option(m.name, m.name)); }
  const texts = info.modalities.find((m) => m.text);
  if (texts) { $('from').value = texts.name; $('kind').value = 'text'; }
  const other = info.modalities.find((m) => m.name !== $('from').value);
  if (other) $('to').value = other.name;
  $('drop').hidden = !info.modalities.some((m) => m.image);
  $('labels').replaceChildren('Only labels: ', ...info.labels.map((l) => el('label', {}, [el('input', { type: 'checkbox', value: l }), ' ', l])));
  $('from').onchange = updateKind;
  $('kind').onchange = updateKind;
  updateKind();
  const sample = await (await fetch('/sample?n=6')).json();
  $('start').replaceChildren('Start from: ', ...sample.items.map((item) => {
    const b = el('button', { type: 'button', textContent: title(item), title: item.labels.join(', ') });
    b.onclick = () => fromItem(item);
    return b;
  }));
}
function filter() {
  const any = [...document.querySelectorAll('#labels input:checked')].map((c) => c.value);
  return any.length ? { labelsAny: any } : undefined;
}
// Search from an item in the current direction (from -> to); an item without the query modality is used in the
// modality it has.
function fromItem(item) {
  if (item.modalities && !item.modalities.includes($('from').value)) { $('from').value = item.modalities[0]; updateKind(); }
  $('kind').value = 'item';
  $('query').value = item.id;
  search({ from: $('from').value, item: item.id }, 'item ' + title(item));
}
// Only plain web or same-site image addresses in metadata become an <img> (no javascript:, data: or other schemes).
function imageAddress(value) {
  if (typeof value !== 'string' || !/\\.(jpe?g|png|gif|webp)$/i.test(value)) return undefined;
  try {
    const url = new URL(value, location.href);
    return url.protocol === 'https:' || url.origin === location.origin ? url.href : undefined;
  } catch (e) {
    return undefined;
  }
}
function result(hit) {
  const children = [];
  const address = info.media.image ? undefined : imageAddress(hit.metadata.image || hit.metadata.imageUrl || hit.metadata.url);
  if (address) children.push(el('img', { alt: '', src: address }));
  if (info.media.image) {
    const img = el('img', { alt: '', loading: 'lazy', src: mediaUrl(hit.id, 'image') });
    img.onerror = () => img.remove();
    children.push(img);
  }
  const snippet = el('div', { className: 'snippet' });
  const meta = Object.entries(hit.metadata).filter(([k]) => k !== 'id' && k !== 'title').map(([k, v]) => k + ': ' + (typeof v === 'string' ? v : JSON.stringify(v))).join(' \\u00b7 ');
  children.push(el('div', { className: 'body' }, [
    el('span', { className: 'score', textContent: hit.score.toFixed(4) }),
    el('b', { className: 'title', textContent: title(hit) }), ' ',
    ...hit.labels.map((l) => el('span', { className: 'lab', textContent: l })),
    snippet,
    el('div', { className: 'meta', textContent: meta }),
  ]));
  // The first lines of the item's text, without the title the result already shows.
  if (info.media.text) fetch(mediaUrl(hit.id, 'text')).then((r) => (r.ok ? r.text() : '')).then((t) => {
    const body = t.startsWith(title(hit)) ? t.slice(title(hit).length).trim() : t;
    snippet.textContent = body.length > 200 ? body.slice(0, 200) + '\\u2026' : body;
  });
  const li = el('li', { title: 'search from this item' }, children);
  li.onclick = () => fromItem({ id: hit.id, metadata: hit.metadata, labels: hit.labels });
  return li;
}
function show(hits, what, preview) {
  const line = [el('span', { textContent: 'Results for ' + what + ' (' + $('from').value + ' \\u2192 ' + $('to').value + ')' })];
  if (preview) line.push(el('img', { alt: 'the query photo', src: preview }));
  $('shown').replaceChildren(...line);
  $('results').replaceChildren(...(hits.length ? hits.map(result) : [el('li', { textContent: 'No results.' })]));
}
async function answer(r, what, preview) {
  const data = await r.json();
  if (!r.ok) { $('error').textContent = data.error; $('results').replaceChildren(); $('shown').replaceChildren(); return; }
  show(data.results[0], what, preview);
}
async function search(query, what) {
  $('error').textContent = '';
  const body = Object.assign({ to: $('to').value, k: Number($('k').value) || 10, filter: filter() }, query);
  const r = await fetch('/search', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  await answer(r, what);
}
async function searchPhoto(file) {
  if (!file) return;
  $('error').textContent = '';
  const image = info.modalities.find((m) => m.image);
  if (image) $('from').value = image.name;
  const form = new FormData();
  form.append('to', $('to').value);
  form.append('k', String(Number($('k').value) || 10));
  const f = filter();
  if (f) form.append('filter', JSON.stringify(f));
  form.append('image', file);
  const r = await fetch('/search/image', { method: 'POST', body: form });
  await answer(r, 'the photo ' + file.name, URL.createObjectURL(file));
}
$('form').onsubmit = (e) => {
  e.preventDefault();
  const value = $('query').value;
  const kind = $('kind').value;
  search(kind === 'item' ? { from: $('from').value, item: value } : { from: $('from').value, text: value }, kind === 'item' ? 'item ' + value : '\\u201c' + value + '\\u201d');
};
$('photo').onchange = () => searchPhoto($('photo').files[0]);
$('drop').ondragover = (e) => { e.preventDefault(); $('drop').classList.add('over'); };
$('drop').ondragleave = () => $('drop').classList.remove('over');
$('drop').ondrop = (e) => { e.preventDefault(); $('drop').classList.remove('over'); searchPhoto(e.dataTransfer.files[0]); };
start();
`;
