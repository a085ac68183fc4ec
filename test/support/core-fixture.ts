import { Writable } from 'node:stream';
import pino from 'pino';
import { destinationTypes, publishers as realPublishers } from '../../publishers/registry.js';
import { loadConfig, type DestinationTypeSpec } from '../../src/config/load.js';
import type { Conjur } from '../../src/conjur/types.js';
import type { PublisherDefinition } from '../../src/publishing/types.js';
import { Redactor } from '../../src/redact.js';
import { ReleaseCore, type CoreDeps } from '../../src/release/core.js';
import { openDatabase, type Db } from '../../src/store/db.js';
import { project, type ProjectSpec } from './projects-file.js';
import { makeWorld, type FileTree } from './world.js';

export interface CoreFixture {
  core: ReleaseCore;
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
  const core = new ReleaseCore({ config, db, conjur, publishers, redactor, log, retryBaseMs: 5, ...deps });
  return {
    core,
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
