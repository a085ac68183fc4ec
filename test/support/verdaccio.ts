export { startVerdaccio, type Verdaccio } from '../../dev/verdaccio.js';
