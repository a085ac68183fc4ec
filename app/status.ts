import type { Redactor } from '../src/redact.js';
import { currentProcess } from '../src/release/owner.js';
import { projectOf } from '../src/release/services.js';
import { projectStatus, type ProjectStatus } from '../src/release/status.js';
import { openDatabase } from '../src/store/db.js';
import { Releases } from '../src/store/releases.js';
import { StagedBuilds } from '../src/store/staged-builds.js';
import { Yanks } from '../src/store/yanks.js';
import { loadAppConfig } from './config.js';

/**
 * `release-bot status` wired with what it reads and nothing else: the configuration (the project must
 * be known) and the store. No logger, metrics, Conjur client, release core or publisher: the command
 * starts in the time it takes to open those two (issue 14: CLI start-up).
 */
export function readProjectStatus(env: NodeJS.ProcessEnv, redactor: Redactor, project: string, version?: string): ProjectStatus {
  const config = loadAppConfig(env, redactor);
  const db = openDatabase(config.dataDir);
  try {
    const now = () => new Date();
    const owner = currentProcess();
    const core = {
      project: (name: string) => projectOf(name, config),
      staged: new StagedBuilds(db),
      releases: new Releases(db, now, owner),
    };
    return projectStatus(core, { yanks: new Yanks(db, now, owner) }, project, version);
  } finally {
    db.close();
  }
}
