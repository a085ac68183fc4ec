import type { AuditLog } from '../audit/log.js';
import type { PolicyHolder } from '../config/reload.js';
import type { ReleaseCore } from './core.js';

/**
 * The core as the policy reloader's holder: the policy in force and the way to replace it are the
 * core's, the audit log (config-changed, config-rejected) is given beside it by the wiring, since
 * the core does not hand its own out.
 */
export function policyHolder(core: Pick<ReleaseCore, 'config' | 'replaceConfig' | 'events'>, audit: AuditLog): PolicyHolder {
  return {
    get config() {
      return core.config;
    },
    replaceConfig: (next) => core.replaceConfig(next),
    audit,
    events: core.events,
  };
}
