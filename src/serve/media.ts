// What the service shows of an item: its text and its image's thumbnail, read from the data set the index was
// built from (only media.jsonl.gz's records: a request names an item id, never a path). A thumbnail is named by its
// own sha256 and checked against it when read, so a swapped or damaged file is refused, not served.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { Dataset } from '../data/dataset.js';
import type { MediaEntry } from '../data/schema.js';

export class MediaStore {
  /** Which kinds of media any item has (the page asks for thumbnails only where some exist); fixed at open. */
  readonly kinds: { image: boolean; text: boolean };

  private constructor(private readonly dataset: Dataset, private readonly entries: Map<string, MediaEntry>) {
    const all = [...entries.values()];
    this.kinds = { image: all.some((e) => e.image !== null), text: all.some((e) => e.text !== null) };
  }

  /** The media of the data set at `dir`, or undefined when it has none (feature-file imports) or is gone. */
  static open(dir: string): MediaStore | undefined {
    if (!existsSync(dir)) return undefined;
    const dataset = Dataset.open(dir);
    const media = dataset.media();
    if (!media) return undefined;
    const ids = dataset.ids();
    return new MediaStore(dataset, new Map(media.map((m, i) => [ids[i]!, m])));
  }



  entry(id: string): MediaEntry | undefined {
    return this.entries.get(id);
  }

  /** The JPEG thumbnail of an item's image; undefined when it has none or the file no longer matches its hash. */
  thumbnail(id: string): Buffer | undefined {
    const sha = this.entries.get(id)?.image?.thumbnail;
    if (!sha) return undefined;
    let bytes: Buffer;
    try {
      bytes = readFileSync(this.dataset.thumbnailPath(sha));
    } catch {
      return undefined;
    }
    return createHash('sha256').update(bytes).digest('hex') === sha ? bytes : undefined;
  }
}
