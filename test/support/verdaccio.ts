export { startVerdaccio, type Verdaccio } from '../../src/dev/verdaccio.js';
