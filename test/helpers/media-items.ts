// A small raw-media collection for tests: examples/photos (real JPEG photos, downscaled from Debian's darknet demo
// images) with its items.jsonl (14 items: each photo in train and in test, labelled animal or scene), copied
// into a test directory with extra lines appended.
import { copyFileSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../src/paths.js';

export const PHOTOS = join(PACKAGE_ROOT, 'examples', 'photos');

/** Writes DIR/photos/*.jpg and DIR/items.jsonl (image paths photos/NAME.jpg) plus `extra` lines; returns the file. */
export function writeMediaItems(dir: string, extra: object[] = []): string {
  mkdirSync(join(dir, 'photos'), { recursive: true });
  for (const f of readdirSync(PHOTOS).filter((f) => f.endsWith('.jpg'))) copyFileSync(join(PHOTOS, f), join(dir, 'photos', f));
  const lines = readFileSync(join(PHOTOS, 'items.jsonl'), 'utf8').trim().split('\n')
    .map((l) => JSON.parse(l) as { image: string })
    .map((item) => ({ ...item, image: `photos/${item.image}` }));
  const path = join(dir, 'items.jsonl');
  writeFileSync(path, [...lines, ...extra].map((l) => JSON.stringify(l)).join('\n') + '\n');
  return path;
}
