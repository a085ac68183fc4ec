import { resumable } from '../recovery.js';
import { need } from '../services.js';
import type { GateStage } from './context.js';

/** Resume: the interrupted or failed release of the same staged build that this one continues. */
export const resume: GateStage = {
  name: 'resume',
  deniedWithBuild: true,
  skip: (r) => !r.options.resume && 'not a resume',
  run: (r) => {
    r.previous = resumable(r.s.releases, need(r.project).name, r.version, need(r.staged));
  },
};
