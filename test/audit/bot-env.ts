import { membershipSentinels, startConjurStandIn, type ConjurStandIn, type RoleRef } from '../../dev/conjur-stand-in.js';
import { runCli, type CliResult } from '../support/cli.js';
import { project, type DestinationSpec, type ProjectSpec } from '../support/projects-file.js';
import { makeWorld } from '../support/world.js';

/** 55 characters, as Conjur API keys are; a canary: it must never show up in output. */
export const API_KEY = `apikey-canary-${'k'.repeat(40)}`;

export interface BotEnv {
  dir: string;
  staging: string;
  dataDir: string;
  conjur: ConjurStandIn;
  env: NodeJS.ProcessEnv;
  /** Writes files into <staging>/<project>/<version>/. */
  stageFiles(project: string, version: string, files: Record<string, string>): string;
  cli(...args: string[]): Promise<CliResult>;
  close(): Promise<void>;
}

/** The destination `mirror`: a directory under <dir>/mirror, with the given credentials (env var -> Conjur id). */
export function mirrorDestination(
  dir: string,
  credentials: Record<string, string> = { MIRROR_TOKEN: 'release/mirror/token' },
): DestinationSpec {
  return { name: 'mirror', type: 'directory', path: `${dir}/mirror/{project}/{version}`, credentials };
}

/** The project `conjur-cli`: releasable by release/conjur-cli, its one destination mirrorDestination(dir, credentials). */
export function mirrorProject(dir: string, credentials?: Record<string, string>): Record<string, ProjectSpec> {
  return { 'conjur-cli': project('conjur-cli', [mirrorDestination(dir, credentials)]) };
}

/**
 * A Conjur stand-in (alice in release/conjur-cli through a nested group), a test world (world.ts)
 * whose projects file holds `projects`, and the environment the CLI needs to use them.
 */
export async function startBotEnv(
  projects: (dir: string) => Record<string, ProjectSpec>,
  options: { variables?: Record<string, { value?: string; readers: RoleRef[] }>; extraEnv?: NodeJS.ProcessEnv } = {},
): Promise<BotEnv> {
  const world = makeWorld({ prefix: 'release-bot-test-' });
  const conjur = await startConjurStandIn({
    account: 'acme',
    apiKeys: { 'host/release-bot': API_KEY },
    groups: { 'release/conjur-cli': ['group:release/core-team'], 'release/core-team': ['user:alice'] },
    webservices: membershipSentinels(['release/conjur-cli', 'release/core-team']),
    variables: options.variables ?? {},
  });
  world.writeProjects({ identity: { strategy: 'map', map: { U024BE7LH: 'alice' } }, projects: projects(world.dir) });
  const env = world.env({ url: conjur.url, apiKey: API_KEY }, { LOG_LEVEL: 'info', ...options.extraEnv });
  return {
    dir: world.dir,
    staging: world.stagingDir,
    dataDir: world.dataDir,
    conjur,
    env,
    stageFiles: (name, version, files) => world.stageFiles(name, version, files),
    cli: (...args) => runCli(args, env),
    async close() {
      await conjur.close();
      world.cleanup();
    },
  };
}
