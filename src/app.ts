import type { Logger } from 'pino';
import type { Config } from './config/load.js';
import type { Conjur } from './conjur/types.js';
import type { Metrics } from './metrics.js';
import type { Redactor } from './redact.js';
import type { ReleaseCore } from './release/core.js';
import type { YankService } from './release/yank.js';
import type { Db } from './store/db.js';

/**
 * What a way in (a handler) is given: the core and the things it shares. Built by `app/create.ts`,
 * the one place that wires the core to its handlers and publishers.
 */
export interface App {
  config: Config;
  core: ReleaseCore;
  /** `/release yank` and `rollback`: the same gates as a release, undone per destination. */
  yanks: YankService;
  conjur: Conjur;
  db: Db;
  log: Logger;
  redactor: Redactor;
  metrics: Metrics;
  close(): void;
}
