import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Writable } from 'node:stream';
import { membershipSentinels, startConjurStandIn, type ConjurStandIn } from '../../../dev/conjur-stand-in.js';
import { serve, type RunningServer } from '../../../app/serve.js';
import { hashUrlToken } from '../../../handlers/jenkins/url-token.js';
import { project, type ProjectSpec } from '../../support/projects-file.js';
import { makeWorld } from '../../support/world.js';
import { HS_SECRET, WEBHOOK_SECRET } from './tokens.js';

/** Per-project Notification URL tokens (canaries: they must never reach a log). */
export const URL_TOKENS = {
  'conjur-cli': `urltoken-canary-${'c'.repeat(24)}`,
  secretless: `urltoken-canary-${'s'.repeat(24)}`,
};
export const CONJUR_API_KEY = `apikey-canary-${'k'.repeat(40)}`;

export interface Bot {
  url: string;
  running: RunningServer;
  staging: string;
  dataDir: string;
  tmpDir: string;
  published: string;
  conjur: ConjurStandIn;
  env: NodeJS.ProcessEnv;
  /** Every log line the server wrote. */
  logs: string[];
  /** Writes files into <staging>/<project>/<version>/ (replacing what was there). */
  stageFiles(project: string, version: string, files: Record<string, string | Buffer>): string;
  post(
    route: string,
    body: unknown,
    headers?: Record<string, string>,
  ): Promise<{ status: number; json: Record<string, unknown>; raw: string; headers: Headers }>;
  stop(): Promise<void>;
}

export interface BotOptions {
  /** More projects (typed, see test/support/projects-file.ts), e.g. a docker project. */
  extraProjects?: Record<string, ProjectSpec>;
  /** A `channel:` of its own for these projects (the others use the file's C0RELEASES). */
  channels?: Record<string, string>;
}

/**
 * release-bot as `serve` runs it (createApp + createHttpApp + every handler's router) on 127.0.0.1,
 * with a projects file of three projects and a Conjur stand-in, for real HTTP tests.
 */
export async function startBot(envOverrides: NodeJS.ProcessEnv = {}, options: BotOptions = {}): Promise<Bot> {
  const world = makeWorld({ prefix: 'release-bot-jenkins-' });
  const published = path.join(world.dir, 'published');
  const conjur = await startConjurStandIn({
    account: 'acme',
    apiKeys: { 'host/release-bot': CONJUR_API_KEY },
    groups: { 'release/conjur-cli': ['user:alice'], 'release/secretless': ['user:alice'], 'release/summon': ['user:alice'] },
    webservices: membershipSentinels(['release/conjur-cli', 'release/secretless', 'release/summon']),
  });
  const mirrored = (name: string, more: Partial<ProjectSpec>, token?: string): ProjectSpec =>
    project(name, [{ name: 'mirror', type: 'directory', path: `${published}/{project}/{version}` }], {
      ...more,
      ...(options.channels?.[name] ? { channel: options.channels[name] } : {}),
      ...(token ? { notification_token_sha256: hashUrlToken(token) } : {}),
    });
  world.writeProjects({
    projects: {
      'conjur-cli': mirrored('conjur-cli', {}, URL_TOKENS['conjur-cli']),
      secretless: mirrored('secretless', { jenkins_job: 'team/secretless' }, URL_TOKENS.secretless),
      summon: mirrored('summon', { jenkins_job: 'summon/*', version_parameter: 'RELEASE_VERSION' }),
      ...options.extraProjects,
    },
  });
  const env = world.env(
    { url: conjur.url, apiKey: CONJUR_API_KEY },
    {
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'debug',
      JENKINS_JWT_SECRET: HS_SECRET,
      JENKINS_WEBHOOK_SECRET: WEBHOOK_SECRET,
      ...envOverrides,
    },
  );
  const logs: string[] = [];
  const logDestination = new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      logs.push(String(chunk));
      cb();
    },
  });
  let running: RunningServer;
  try {
    running = await serve({ env, logDestination, retryBaseMs: 1 });
  } catch (err) {
    await conjur.close();
    world.cleanup();
    throw err;
  }
  const { port } = running.server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    running,
    staging: world.stagingDir,
    dataDir: world.dataDir,
    tmpDir: world.dir,
    published,
    conjur,
    env,
    logs,
    stageFiles: (projectName, version, files) => world.stageFiles(projectName, version, files, true),
    async post(route, body, headers = {}) {
      const res = await fetch(`${url}${route}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body),
      });
      const raw = await res.text();
      let json: Record<string, unknown> = {};
      try {
        json = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        json = { unparsed: raw };
      }
      return { status: res.status, json, raw, headers: res.headers };
    },
    async stop() {
      await running.stop();
      await conjur.close();
      world.cleanup();
    },
  };
}
