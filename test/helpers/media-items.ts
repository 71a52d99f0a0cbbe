// A small raw-media collection for tests: real JPEG photos (test/fixtures/photos, downscaled from Debian's
// darknet demo images) with short texts and two labels, written as items.jsonl beside a copy of the photos.
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../src/paths.js';

export const PHOTOS = join(PACKAGE_ROOT, 'test', 'fixtures', 'photos');

const ITEMS: Array<[photo: string, label: string, train: string, test: string]> = [
  ['dog', 'animal', 'a brown dog sitting beside a bicycle', 'loyal dog, a pet animal'],
  ['eagle', 'animal', 'an eagle spreading its wings', 'bird of prey: the eagle, an animal'],
  ['giraffe', 'animal', 'a tall giraffe animal in the zoo', 'giraffe with a long neck'],
  ['horses', 'animal', 'horses running in a field', 'a herd of wild horses, animals'],
  ['kite', 'scene', 'people flying a kite on the beach', 'a colourful kite in the sky'],
  ['person', 'scene', 'a person standing outside with a dog and a horse', 'people standing outside'],
  ['scream', 'scene', 'the scream, a painting by munch', 'an expressionist painting'],
];

/** Writes DIR/photos/*.jpg and DIR/items.jsonl (14 items: each photo in train and in test); returns the file. */
export function writeMediaItems(dir: string, extra: object[] = []): string {
  mkdirSync(join(dir, 'photos'), { recursive: true });
  const lines: object[] = [];
  for (const [photo, label, train, test] of ITEMS) {
    copyFileSync(join(PHOTOS, `${photo}.jpg`), join(dir, 'photos', `${photo}.jpg`));
    lines.push({ id: `${photo}-1`, image: `photos/${photo}.jpg`, name: photo, description: train, label, split: 'train' });
    lines.push({ id: `${photo}-2`, image: `photos/${photo}.jpg`, name: photo, description: test, label, split: 'test' });
  }
  const path = join(dir, 'items.jsonl');
  writeFileSync(path, [...lines, ...extra].map((l) => JSON.stringify(l)).join('\n') + '\n');
  return path;
}
