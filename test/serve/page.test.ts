// End to end: the search page in headless Chromium (Debian's chromium, driven by playwright-core).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { chromium } from 'playwright-core';
import { buildIndex } from '../../src/index/build.js';
import { createServer } from '../../src/serve/server.js';
import { loadRun } from '../../src/runs/load.js';
import { train } from '../../src/train/trainer.js';
import { tempDir } from '../helpers/tmp.js';
import { tinyDataset, tinyOptions } from '../helpers/tiny-dataset.js';
import { synthesize, synthDefaults } from '../../src/data/synth.js';
import { MediaStore } from '../../src/serve/media.js';
import { mediaIndex } from '../helpers/media-index.js';
import { PHOTOS } from '../helpers/media-items.js';
import { writeDataset } from '../../src/data/writer.js';

const executablePath = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
// scripts/test.sh (the README's test command, which CI runs) installs Chromium where it can; under CI the test must run, elsewhere it is skipped without one.
const skip = !executablePath && !process.env.CI ? 'Chromium not installed (apt-get install chromium)' : false;

// Predicates for waitForFunction are functions, not strings: a string is evaluated with eval in the page, which
// the page's Content-Security-Policy forbids. The DOM types they use (erased at compile time):
type PageDocument = { querySelector(s: string): { value: string }; querySelectorAll(s: string): ArrayLike<{ textContent: string | null }> };

/** Trains a small model on `data`, serves its index and opens a browser page (closed when the test file ends). */
async function servePage(data: string, out: string, epochs: number) {
  await train({ method: 'pgnn-con', options: tinyOptions, data, out, epochs, batchSize: 20, lr: 1e-3 });
  const run = await loadRun(out);
  return openPage(createServer({ index: buildIndex(run, { engine: 'exact' }), run }));
}

async function openPage(app: ReturnType<typeof createServer>) {
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  const browser = await chromium.launch({
    executablePath: executablePath ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  after(async () => {
    await browser.close();
    await app.close();
  });
  return { page: await browser.newPage(), url };
}

test('the page searches, shows results with labels, searches from a clicked result, filters by label', { skip }, async () => {
  const dir = tempDir();
  const data = tinyDataset(dir);
  const { page, url } = await servePage(data, join(dir, 'run'), 2);
  await page.goto(url);
  await page.waitForSelector('#about:not(:empty)');
  assert.match(await page.textContent('#about') ?? '', /80 items of tiny, pgnn-con model, exact index/);
  await page.selectOption('#from', 'text');
  await page.selectOption('#to', 'image');
  await page.fill('#query', '3');
  await page.click('button[type=submit]');
  await page.waitForSelector('#results li b');
  assert.equal(await page.locator('#results li').count(), 10);
  const firstId = await page.locator('#results li b').first().textContent();
  assert.ok(firstId);
  // A click searches from the clicked item in the same direction (text -> image).
  await page.locator('#results li').nth(1).click();
  await page.waitForFunction(() => {
    const d = (globalThis as unknown as { document: PageDocument }).document;
    return d.querySelector('#query').value !== '3' && d.querySelectorAll('#results li b').length > 0;
  });
  assert.equal(await page.inputValue('#from'), 'text');
  assert.equal(await page.inputValue('#to'), 'image');
  assert.match(await page.textContent('#shown') ?? '', /^Results for item .* \(text \u2192 image\)$/);
  // Label filter: every result carries the label.
  await page.check('#labels input[value="sky"]');
  await page.click('button[type=submit]');
  await page.waitForFunction(() => Array.from((globalThis as unknown as { document: PageDocument }).document.querySelectorAll('#results li')).every((li) => (li.textContent ?? '').includes('sky')));
  const texts = await page.locator('#results li').allTextContents();
  assert.ok(texts.length > 0 && texts.every((t) => t.includes('sky')), texts.join('\n'));
  // A bad query shows the service's message.
  await page.selectOption('#kind', 'text');
  await page.fill('#query', 'blue sky');
  await page.click('button[type=submit]');
  await page.waitForSelector('#error:not(:empty)');
  assert.match(await page.textContent('#error') ?? '', /no featuriser for raw text/);
});

test('a hostile data set: label names and metadata reach the page as text, and nothing in them runs', { skip }, async () => {
  const dir = tempDir();
  const hostile = ['<img src=x onerror=document.title=/PWNED/.source>', '<script>document.title="PWNED2"</script>', 'plain'];
  const rows = 60;
  const labelSource = { names: hostile, data: Uint8Array.from({ length: rows * 3 }, (_, i) => (i % 3 === Math.floor(i / 3) % 3 ? 1 : 0)), source: 'hostile test' };
  const spec = synthesize({ ...synthDefaults, items: rows, modalities: { image: 8, text: 6 }, missing: {}, noise: 0.2, seed: 1, latentDim: 4, labelSource, name: '<b>evil</b>' });
  spec.metadata = Array.from({ length: rows }, (_, i) => ({
    id: i === 0 ? '<img src=y onerror=document.title=/PWNED3/.source>' : String(i),
    image: i % 2 ? 'x.png" onerror="document.title=\'PWNED4\'' : 'javascript:document.title=/PWNED5/.source//.png',
    title: '<svg onload=document.title=/PWNED6/.source>',
  }));
  writeDataset(join(dir, 'evil'), spec);
  const { page, url } = await servePage(join(dir, 'evil'), join(dir, 'run'), 1);
  const dialogs: string[] = [];
  page.on('dialog', (d) => { dialogs.push(d.message()); void d.dismiss(); });
  await page.goto(url);
  await page.waitForSelector('#about:not(:empty)');
  assert.match(await page.textContent('#about') ?? '', /<b>evil<\/b>/, 'the data set name is shown as text');
  assert.equal(await page.locator('#labels input').count(), 3);
  assert.deepEqual((await page.locator('#labels label').allTextContents()).map((t) => t.trim()), hostile);
  await page.selectOption('#from', 'text');
  await page.fill('#query', '1');
  await page.click('button[type=submit]');
  await page.waitForSelector('#results li b');
  await page.waitForTimeout(300); // give any injected handler the chance to run
  const texts = (await page.locator('#results li').allTextContents()).join('\n');
  assert.match(texts, /<img src=x onerror=document\.title=\/PWNED\/\.source>|<script>document\.title="PWNED2"<\/script>/);
  assert.equal(await page.title(), 'xmodal search');
  assert.deepEqual(dialogs, []);
  assert.equal(await page.locator('#results img, #labels img, #results script, #results svg').count(), 0, 'no element made from data');
});

type MediaDocument = {
  querySelectorAll(s: string): ArrayLike<{ complete: boolean; naturalWidth: number; textContent: string | null }>;
  documentElement: { scrollWidth: number };
};

test('photos and words at 390 px: typed words and an uploaded photo find items, shown with thumbnails and snippets', { skip }, async () => {
  const dir = tempDir();
  const { data, run, index } = await mediaIndex(dir);
  const { page, url } = await openPage(createServer({ index, run, media: MediaStore.open(data) }));
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(url);
  await page.waitForSelector('#start button');
  assert.equal(await page.locator('#start button').count(), 6, 'random starting points');
  assert.equal(await page.inputValue('#kind'), 'text', 'words by default where the index takes text');
  await page.fill('#query', 'a giraffe with a long neck');
  await page.click('button[type=submit]');
  await page.waitForSelector('#results li img');
  assert.match(await page.textContent('#shown') ?? '', /^Results for \u201ca giraffe with a long neck\u201d \(text \u2192 image\)$/);
  // Every thumbnail loads, and every result gets the first lines of its text.
  await page.waitForFunction(() => {
    const d = (globalThis as unknown as { document: MediaDocument }).document;
    const imgs = Array.from(d.querySelectorAll('#results li img'));
    const snippets = Array.from(d.querySelectorAll('#results .snippet'));
    return imgs.length === 10 && imgs.every((i) => i.complete && i.naturalWidth > 0) && snippets.every((s) => (s.textContent ?? '').length > 0);
  });
  assert.ok(await page.evaluate(() => (globalThis as unknown as { document: MediaDocument }).document.documentElement.scrollWidth) <= 390, 'no sideways scrolling at 390 px');
  // A photo from the file picker: the query is shown with the photo, results are texts.
  await page.selectOption('#to', 'text');
  await page.setInputFiles('#photo', join(PHOTOS, 'horses.jpg'));
  await page.waitForSelector('#shown img');
  await page.waitForFunction(() => /the photo horses\.jpg \(image \u2192 text\)/.test((globalThis as unknown as { document: { getElementById(id: string): { textContent: string | null } } }).document.getElementById('shown').textContent ?? ''));
  assert.equal(await page.inputValue('#from'), 'image');
  assert.equal(await page.locator('#results li').count(), 10);
  // A non-image upload: the service's message, no results.
  await page.setInputFiles('#photo', { name: 'notes.jpg', mimeType: 'image/jpeg', buffer: Buffer.from('not a photo') });
  await page.waitForSelector('#error:not(:empty)');
  assert.match(await page.textContent('#error') ?? '', /not an image sharp can read/);
});
