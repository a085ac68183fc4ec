import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { destinationTypes, publishers as realPublishers } from '../../publishers/registry.js';
import { loadConfig, type DestinationTypeSpec } from '../../src/config/load.js';
import type { Conjur } from '../../src/conjur/types.js';
import type { PublisherDefinition } from '../../src/publishing/types.js';
import { Redactor } from '../../src/redact.js';
import { ReleaseCore, type CoreDeps } from '../../src/release/core.js';
import { openDatabase, type Db } from '../../src/store/db.js';

export interface CoreFixture {
  core: ReleaseCore;
  db: Db;
  redactor: Redactor;
  logLines: string[];
  stagingDir: string;
  /** Writes files (paths may have subdirectories) into <staging>/<project>/<version>/. */
  stageFiles(project: string, version: string, files: Record<string, string>): string;
  close(): void;
}

/**
 * The projects-file lines of `app` (files, releasable by release/app) with the given destination
 * lines (`      - { name: ..., type: ... }`), and `extra` project keys before them.
 */
export function appProject(destinations: string, extra = ''): string {
  return `  app:
    authorized_group: release/app
    jenkins_job: app
    artifact: files
${extra}    destinations:
${destinations}`;
}

/**
 * A ReleaseCore on a temp directory, from a projects file given as YAML lines (the staging_dir,
 * channel and identity lines are added). Extra publisher types can be registered for the test.
 */
export function makeCore(
  root: string,
  projectsYaml: string,
  conjur: Conjur,
  extraPublishers: PublisherDefinition[] = [],
  deps: Partial<CoreDeps> = {},
): CoreFixture {
  const stagingDir = path.join(root, 'staging');
  mkdirSync(stagingDir, { recursive: true });
  const file = path.join(root, 'releases.yml');
  writeFileSync(file, `channel: C0RELEASES\nstaging_dir: ${stagingDir}\nidentity: { strategy: map, map: {} }\nprojects:\n${projectsYaml}`);
  const publishers = new Map<string, PublisherDefinition>(realPublishers);
  const types = new Map<string, DestinationTypeSpec>(destinationTypes);
  for (const p of extraPublishers) {
    publishers.set(p.type, p);
    types.set(p.type, { options: p.options, artifacts: p.artifacts });
  }
  const redactor = new Redactor();
  const config = loadConfig(
    {
      CONJUR_APPLIANCE_URL: 'http://127.0.0.1:1',
      CONJUR_ACCOUNT: 'acme',
      CONJUR_AUTHN_LOGIN: 'host/release-bot',
      CONJUR_AUTHN_API_KEY: 'x'.repeat(55),
      RELEASE_BOT_CONFIG: file,
      RELEASE_BOT_DATA_DIR: path.join(root, 'data'),
    },
    { destinationTypes: types, redactor },
  );
  const logLines: string[] = [];
  const log = pino({ level: 'debug' }, new Writable({ write: (c, _e, cb) => (logLines.push(redactor.redact(String(c))), cb()) }));
  const db = openDatabase(config.dataDir);
  const core = new ReleaseCore({ config, db, conjur, publishers, redactor, log, retryBaseMs: 5, ...deps });
  return {
    core,
    db,
    redactor,
    logLines,
    stagingDir,
    stageFiles(project, version, files) {
      const dir = path.join(stagingDir, project, version);
      mkdirSync(dir, { recursive: true });
      for (const [name, content] of Object.entries(files)) {
        mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
        writeFileSync(path.join(dir, name), content);
      }
      return dir;
    },
    close: () => db.close(),
  };
}

/** A Conjur that answers from memory, for core tests that are not about Conjur. Counts calls. */
export function memoryConjur(members: Record<string, string[]>, secrets: Record<string, string> = {}): Conjur & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    async whoami() {
      calls.push('whoami');
      return { account: 'acme', username: 'host/release-bot' };
    },
    async isMember(login, group) {
      calls.push(`isMember ${login} ${group}`);
      return (members[group] ?? []).includes(login);
    },
    async getSecrets(ids) {
      calls.push(`getSecrets ${ids.join(',')}`);
      return new Map(ids.map((id) => [id, secrets[id] ?? `value-of-${id}`]));
    },
    async canRead(id) {
      return id in secrets;
    },
  };
}
