// The search page: one static HTML document with a little plain JavaScript, no build step.
export function searchPage(): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>xmodal search</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font-family:system-ui,sans-serif;max-width:64rem;margin:1.5rem auto;padding:0 1rem;color:#222}
form{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center}
input[type=text]{flex:1;min-width:14rem;padding:.35rem}
#labels label{margin-right:.6rem;white-space:nowrap}
ol{padding-left:1.5rem} li{margin:.4rem 0;cursor:pointer} li:hover{background:#f4f6fa}
.score{font-variant-numeric:tabular-nums;color:#555;margin-right:.5rem}.lab{background:#e8eefc;border-radius:3px;padding:0 .3rem;margin-right:.25rem;font-size:.85rem}
.meta{color:#666;font-size:.85rem} img{max-height:4rem;vertical-align:middle;margin-right:.5rem} #error{color:#b00}
</style></head><body>
<h1>xmodal search</h1>
<p id="about"></p>
<form id="form">
  <select id="from" aria-label="query modality"></select> &rarr; <select id="to" aria-label="result modality"></select>
  <select id="kind" aria-label="query kind"><option value="item">item id</option><option value="text">text</option></select>
  <input type="text" id="query" placeholder="an item id" aria-label="query">
  <input type="number" id="k" value="10" min="1" max="100" aria-label="results" style="width:4rem">
  <button type="submit">Search</button>
</form>
<div id="labels"></div>
<p id="error" role="alert"></p>
<ol id="results"></ol>
<script>
const $ = (id) => document.getElementById(id);
let info;
async function start() {
  info = await (await fetch('/info')).json();
  $('about').textContent = info.items + ' items of ' + info.dataset + ', ' + info.method + ' model, ' + info.engine + ' index';
  for (const m of info.modalities) { $('from').add(new Option(m.name, m.name)); $('to').add(new Option(m.name, m.name)); }
  if (info.modalities.length > 1) $('to').value = info.modalities[1].name;
  $('labels').innerHTML = 'Only labels: ' + info.labels.map((l) => '<label><input type="checkbox" value="' + l + '"> ' + l + '</label>').join('');
  $('kind').onchange = () => { $('query').placeholder = $('kind').value === 'item' ? 'an item id' : 'words'; };
}
function filter() {
  const any = [...document.querySelectorAll('#labels input:checked')].map((c) => c.value);
  return any.length ? { labelsAny: any } : undefined;
}
async function search(from, kind, value) {
  $('error').textContent = '';
  const body = { from, to: $('to').value, k: Number($('k').value) || 10, filter: filter() };
  body[kind] = value;
  const r = await fetch('/search', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const data = await r.json();
  if (!r.ok) { $('error').textContent = data.error; $('results').innerHTML = ''; return; }
  const list = $('results'); list.innerHTML = '';
  for (const hit of data.results[0]) {
    const li = document.createElement('li');
    const img = hit.metadata.image || hit.metadata.imageUrl || hit.metadata.url;
    li.innerHTML = (typeof img === 'string' && /\\.(jpe?g|png|gif|webp)$/i.test(img) ? '<img alt="" src="' + img + '">' : '') +
      '<span class="score">' + hit.score.toFixed(4) + '</span><b></b> ' + hit.labels.map((l) => '<span class="lab"></span>').join('') + '<div class="meta"></div>';
    li.querySelector('b').textContent = hit.id;
    li.querySelectorAll('.lab').forEach((el, i) => { el.textContent = hit.labels[i]; });
    li.querySelector('.meta').textContent = Object.entries(hit.metadata).filter(([k]) => k !== 'id').map(([k, v]) => k + ': ' + v).join(' \\u00b7 ');
    li.title = 'search from this item';
    li.onclick = () => { $('from').value = $('to').value; $('kind').value = 'item'; $('query').value = hit.id; search($('from').value, 'item', hit.id); };
    list.appendChild(li);
  }
  if (!data.results[0].length) list.innerHTML = '<li>No results.</li>';
}
$('form').onsubmit = (e) => { e.preventDefault(); search($('from').value, $('kind').value, $('query').value); };
start();
</script>
</body></html>
`;
}
