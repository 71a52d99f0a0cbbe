// Importing this module registers every built-in method.
import './dagnn.js';
import './dscmr.js';
import './acmr.js';
import './cca.js';
import './agat.js';
import './aeir.js';
