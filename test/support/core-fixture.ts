import { Writable } from 'node:stream';
import pino from 'pino';
import { destinationTypes, publishers as realPublishers } from '../../publishers/registry.js';
import { loadConfig, type DestinationTypeSpec } from '../../src/config/load.js';
import type { Conjur } from '../../src/conjur/types.js';
import type { PublisherDefinition } from '../../src/publishing/types.js';
import { AuditLog } from '../../src/audit/log.js';
import { EventBus } from '../../src/events.js';
import { Redactor } from '../../src/redact.js';
import { ReleaseCore, type CoreDeps } from '../../src/release/core.js';
import { currentProcess } from '../../src/release/owner.js';
import { openDatabase, type Db } from '../../src/store/db.js';
import { Releases } from '../../src/store/releases.js';
import { StagedBuilds } from '../../src/store/staged-builds.js';
import { project, type ProjectSpec } from './projects-file.js';
import { makeWorld, type FileTree } from './world.js';

export interface CoreFixture {
  core: ReleaseCore;
  /** The audit log and the repositories the core was given (as app/create.ts gives them): the core keeps its own private. */
  audit: AuditLog;
  staged: StagedBuilds;
  releases: Releases;
  db: Db;
  redactor: Redactor;
  logLines: string[];
  stagingDir: string;
  /** Writes files (paths may have subdirectories) into <staging>/<project>/<version>/. */
  stageFiles(project: string, version: string, files: FileTree): string;
  close(): void;
}

/** The project `app` (files, releasable by release/app, reported by the job app) with these destinations; `more` overrides. */
export function appProject(destinations: ProjectSpec['destinations'], more: Partial<ProjectSpec> = {}): Record<string, ProjectSpec> {
  return { app: project('app', destinations, more) };
}

/**
 * A ReleaseCore on a test world in `root` (see world.ts), from typed projects (the file's channel,
 * staging_dir and identity are the world's). Extra publisher types can be registered for the test.
 */
export function makeCore(
  root: string,
  projects: Record<string, ProjectSpec>,
  conjur: Conjur,
  extraPublishers: PublisherDefinition[] = [],
  deps: Partial<CoreDeps> = {},
): CoreFixture {
  const world = makeWorld({ root });
  world.writeProjects({ projects });
  const publishers = new Map<string, PublisherDefinition>(realPublishers);
  const types = new Map<string, DestinationTypeSpec>(destinationTypes);
  for (const p of extraPublishers) {
    publishers.set(p.type, p);
    types.set(p.type, { options: p.options, artifacts: p.artifacts });
  }
  const redactor = new Redactor();
  const config = loadConfig(world.env({ url: 'http://127.0.0.1:1', apiKey: 'x'.repeat(55) }), { destinationTypes: types, redactor });
  const logLines: string[] = [];
  const log = pino({ level: 'debug' }, new Writable({ write: (c, _e, cb) => (logLines.push(redactor.redact(String(c))), cb()) }));
  const db = openDatabase(config.dataDir);
  const events = deps.events ?? new EventBus();
  const audit = deps.audit ?? new AuditLog(db, redactor, deps.now, { bus: events });
  const staged = deps.staged ?? new StagedBuilds(db);
  const releases = deps.releases ?? new Releases(db, deps.now, currentProcess());
  const core = new ReleaseCore({ config, db, conjur, publishers, redactor, log, retryBaseMs: 5, ...deps, events, audit, staged, releases });
  return {
    core,
    audit,
    staged,
    releases,
    db,
    redactor,
    logLines,
    stagingDir: world.stagingDir,
    stageFiles: (name, version, files) => world.stageFiles(name, version, files),
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
