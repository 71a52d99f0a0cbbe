// Loaded with `node --import` before the CLI by `npm run bench -- service`: the exact engine's single queries scan
// every float32 row (the path before the binary16 first pass), so the bench can run before and after side by side.
import { ExactEngine } from '../src/index/engines.js';

ExactEngine.half = false;
