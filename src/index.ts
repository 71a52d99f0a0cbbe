// The xmodal library: what programs that embed xmodal import.
export { initEngine, tf, type EngineInfo } from './engine/engine.js';
export { Adam, adamDefaults, type AdamConfig } from './engine/adam.js';
export { gradReverse, stopGradient, l2Normalize, gatherRows } from './engine/ops.js';
export { createRng, normal, permutation } from './engine/random.js';
