// Label orders of the research data sets (methods.md 1.2), used when files carry no label names.
export const MIRFLICKR_LABELS = ['animals', 'baby', 'bird', 'car', 'clouds', 'dog', 'female', 'flower', 'food', 'indoor', 'lake', 'male', 'night', 'people', 'plant_life', 'portrait', 'river', 'sea', 'sky', 'structures', 'sunset', 'transport', 'tree', 'water'];
export const NUS_WIDE_21_LABELS = ['sky', 'clouds', 'person', 'water', 'animal', 'grass', 'buildings', 'window', 'plants', 'lake', 'ocean', 'road', 'flowers', 'sunset', 'reflection', 'rocks', 'vehicle', 'snow', 'tree', 'beach', 'mountain'];

/** Names for a label count that identifies a known data set unambiguously; undefined otherwise. */
export function knownLabelNames(count: number): string[] | undefined {
  if (count === 24) return MIRFLICKR_LABELS;
  if (count === 21) return NUS_WIDE_21_LABELS;
  return undefined;
}
