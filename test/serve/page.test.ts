// End to end: the search page in headless Chromium (Debian's chromium, driven by playwright-core).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { chromium } from 'playwright-core';
import { buildIndex } from '../../src/index/build.js';
import { createServer } from '../../src/serve/server.js';
import { loadRun } from '../../src/train/load-run.js';
import { train } from '../../src/train/trainer.js';
import { tempDir } from '../helpers/tmp.js';
import { tinyDataset, tinyOptions } from '../helpers/tiny-dataset.js';

const executablePath = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
// CI installs Chromium (.ci/run), so there the test must run; elsewhere it is skipped without one.
const skip = !executablePath && !process.env.CI ? 'Chromium not installed (apt-get install chromium)' : false;

test('the page searches, shows results with labels, searches from a clicked result, filters by label', { skip }, async () => {
  const dir = tempDir();
  const data = tinyDataset(dir);
  await train({ method: 'pgnn-con', options: tinyOptions, data, out: join(dir, 'run'), epochs: 2, batchSize: 20, lr: 1e-3 });
  const run = await loadRun(join(dir, 'run'));
  const app = createServer({ index: buildIndex(run, { engine: 'exact' }), run });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  const browser = await chromium.launch({
    executablePath: executablePath ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  after(async () => {
    await browser.close();
    await app.close();
  });
  const page = await browser.newPage();
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
  // A click searches from the clicked item (in the result modality).
  await page.locator('#results li').nth(1).click();
  await page.waitForFunction("document.querySelector('#query').value !== '3' && document.querySelectorAll('#results li b').length > 0");
  assert.equal(await page.inputValue('#from'), 'image');
  // Label filter: every result carries the label.
  await page.check('#labels input[value="sky"]');
  await page.click('button[type=submit]');
  await page.waitForFunction("[...document.querySelectorAll('#results li')].every((li) => li.textContent.includes('sky'))");
  const texts = await page.locator('#results li').allTextContents();
  assert.ok(texts.length > 0 && texts.every((t) => t.includes('sky')), texts.join('\n'));
  // A bad query shows the service's message.
  await page.selectOption('#kind', 'text');
  await page.fill('#query', 'blue sky');
  await page.click('button[type=submit]');
  await page.waitForSelector('#error:not(:empty)');
  assert.match(await page.textContent('#error') ?? '', /no featuriser for raw text/);
});
