import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { membershipSentinels, startConjurStandIn, type ConjurStandIn, type RoleRef } from '../../dev/conjur-stand-in.js';
import { runCli, type CliResult } from '../support/cli.js';
import { makeTmpDir } from '../support/tmp.js';

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

/**
 * The projects-file lines of `conjur-cli`: releasable by release/conjur-cli, one `directory`
 * destination `mirror` under <dir>/mirror with the given credentials (env var -> Conjur id).
 */
export function mirrorProject(dir: string, credentials = '{ MIRROR_TOKEN: release/mirror/token }'): string[] {
  return [
    '  conjur-cli:',
    '    authorized_group: release/conjur-cli',
    '    jenkins_job: conjur-cli',
    '    artifact: files',
    '    destinations:',
    '      - name: mirror',
    '        type: directory',
    `        path: ${dir}/mirror/{project}/{version}`,
    `        credentials: ${credentials}`,
  ];
}

/**
 * A Conjur stand-in (alice in release/conjur-cli through a nested group), a projects file made of
 * `projectLines` (YAML under `projects:`), and the environment the CLI needs to use them.
 */
export async function startBotEnv(
  projectLines: (dir: string) => string[],
  options: { variables?: Record<string, { value?: string; readers: RoleRef[] }>; extraEnv?: NodeJS.ProcessEnv } = {},
): Promise<BotEnv> {
  const tmp = makeTmpDir();
  const staging = path.join(tmp.dir, 'staging');
  const dataDir = path.join(tmp.dir, 'data');
  mkdirSync(staging, { recursive: true });
  const conjur = await startConjurStandIn({
    account: 'acme',
    apiKeys: { 'host/release-bot': API_KEY },
    groups: { 'release/conjur-cli': ['group:release/core-team'], 'release/core-team': ['user:alice'] },
    webservices: membershipSentinels(['release/conjur-cli', 'release/core-team']),
    variables: options.variables ?? {},
  });
  const configFile = path.join(tmp.dir, 'releases.yml');
  writeFileSync(
    configFile,
    [
      'channel: C0RELEASES',
      `staging_dir: ${staging}`,
      'identity: { strategy: map, map: { U024BE7LH: alice } }',
      'projects:',
      ...projectLines(tmp.dir),
      '',
    ].join('\n'),
  );
  const env: NodeJS.ProcessEnv = {
    CONJUR_APPLIANCE_URL: conjur.url,
    CONJUR_ACCOUNT: 'acme',
    CONJUR_AUTHN_LOGIN: 'host/release-bot',
    CONJUR_AUTHN_API_KEY: API_KEY,
    RELEASE_BOT_CONFIG: configFile,
    RELEASE_BOT_DATA_DIR: dataDir,
    LOG_LEVEL: 'info',
    ...options.extraEnv,
  };
  return {
    dir: tmp.dir,
    staging,
    dataDir,
    conjur,
    env,
    stageFiles(project, version, files) {
      const dir = path.join(staging, project, version);
      mkdirSync(dir, { recursive: true });
      for (const [name, content] of Object.entries(files)) writeFileSync(path.join(dir, name), content);
      return dir;
    },
    cli: (...args) => runCli(args, env),
    async close() {
      await conjur.close();
      tmp.cleanup();
    },
  };
}
