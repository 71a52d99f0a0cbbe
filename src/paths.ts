import { fileURLToPath } from 'node:url';

/** The package root (where package.json and datasets/ live), from dist/src/. */
export const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const RESOURCES_DIR = `${PACKAGE_ROOT}datasets/resources`;
