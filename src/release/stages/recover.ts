import { recoverInterrupted } from '../recovery.js';
import { need } from '../services.js';
import type { GateStage } from './context.js';

/**
 * Recover: a release of this version whose process died (a killed CLI or ssh publish) holds the lock
 * and is not yet resumable: it is marked interrupted here, in whichever process asks next.
 */
export const recover: GateStage = {
  name: 'recover',
  deniedWithBuild: true,
  run: (r) => {
    const { s } = r;
    const deps = { releases: s.releases, audit: s.audit, events: s.events, log: s.log, policy: s.policy };
    recoverInterrupted(deps, s.probe, { project: need(r.project).name, version: r.version });
  },
};
