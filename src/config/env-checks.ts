import type { EnvInput } from './schema.js';

/** Shorter shared secrets can be guessed offline from one signed report. */
export const MIN_JWT_SECRET_LENGTH = 32;
/** Slack's signing secrets are 32 characters; anything much shorter is a truncated copy. */
const MIN_SLACK_SIGNING_SECRET_LENGTH = 16;

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * Variables whose value may be repeated in a message: none of them is a secret or a URL (a URL may
 * carry user:password@). Each says what a right value looks like.
 */
const SHOWN_VALUE: Partial<Record<keyof EnvInput, (value: string) => string>> = {
  PORT: (v) => `"${v}" is not a port number: use 1-65535, e.g. PORT=3000`,
  RELEASE_BOT_MAX_CONCURRENT_RELEASES: (v) => `"${v}" is not a whole number from 1 to 64, e.g. RELEASE_BOT_MAX_CONCURRENT_RELEASES=4`,
  RELEASE_BOT_MODE: (v) => `"${v}" is not a mode: use production or demo, e.g. RELEASE_BOT_MODE=production`,
  LOG_LEVEL: (v) => `"${v}" is not a log level: use fatal, error, warn, info, debug, trace or silent, e.g. LOG_LEVEL=info`,
};

/** What a right value looks like, for variables whose value is never repeated. */
const EXAMPLE: Partial<Record<keyof EnvInput, string>> = {
  CONJUR_APPLIANCE_URL: 'is not a URL: e.g. CONJUR_APPLIANCE_URL=https://conjur.example.com',
  SLACK_API_URL: 'is not a URL: e.g. SLACK_API_URL=https://slack.com/api/',
  JENKINS_JWKS_URL: 'is not a URL: e.g. JENKINS_JWKS_URL=https://jenkins.example.com/jwt-auth/jwks',
  AUDIT_SYSLOG_URL: 'is not udp://host:port or tcp://host:port: e.g. AUDIT_SYSLOG_URL=udp://syslog.example.com:514',
};

/** The message for a variable that is set but refused by the schema. */
export function envValueMessage(key: keyof EnvInput, value: string, schemaMessage: string): string {
  const shown = SHOWN_VALUE[key];
  if (shown) return `${key}: ${shown(value)}`;
  return `${key}: ${EXAMPLE[key] ?? `${schemaMessage}: see .env.example`}`;
}

export interface EnvCheckResult {
  problems: string[];
  warnings: string[];
}

/**
 * The rules on values the schema accepted that `serve`, `notify` or a release would refuse later:
 * secret lengths and shapes, and URL schemes. Values are never repeated: they are secrets or URLs.
 */
export function envValueProblems(env: Readonly<Record<string, string | undefined>>): EnvCheckResult {
  const problems: string[] = [];
  const warnings: string[] = [];
  const secret = env.JENKINS_JWT_SECRET;
  if (secret !== undefined && secret.length < MIN_JWT_SECRET_LENGTH) {
    problems.push(
      `JENKINS_JWT_SECRET: is ${secret.length} characters long: use at least ${MIN_JWT_SECRET_LENGTH} random characters, e.g. JENKINS_JWT_SECRET=$(openssl rand -hex 32)`,
    );
  }
  const signing = env.SLACK_SIGNING_SECRET;
  if (signing !== undefined && (signing.length < MIN_SLACK_SIGNING_SECRET_LENGTH || /\s/.test(signing))) {
    problems.push(
      `SLACK_SIGNING_SECRET: is not a Slack signing secret (${signing.length} characters${/\s/.test(signing) ? ', with spaces' : ''}): copy the 32-character Signing Secret from the app's Basic Information page, e.g. SLACK_SIGNING_SECRET=8f742231b10e8888abcd99yyyzzz85a5`,
    );
  }
  if (env.SLACK_BOT_TOKEN !== undefined && !env.SLACK_BOT_TOKEN.startsWith('xoxb-')) {
    problems.push(
      "SLACK_BOT_TOKEN: is not a bot token (those start with xoxb-): copy the Bot User OAuth Token from the app's OAuth & Permissions page, e.g. SLACK_BOT_TOKEN=xoxb-1234-5678-abcd",
    );
  }
  if (env.SLACK_APP_TOKEN !== undefined && !env.SLACK_APP_TOKEN.startsWith('xapp-')) {
    problems.push(
      "SLACK_APP_TOKEN: is not an app-level token (those start with xapp-): create one with the connections:write scope on the app's Basic Information page, e.g. SLACK_APP_TOKEN=xapp-1-A0123-4567-abcd",
    );
  }
  for (const [key, example] of [
    ['SLACK_API_URL', 'https://slack.com/api/'],
    ['JENKINS_JWKS_URL', 'https://jenkins.example.com/jwt-auth/jwks'],
  ] as const) {
    const value = env[key];
    if (value !== undefined && !/^https?:\/\//i.test(value))
      problems.push(`${key}: is not an http:// or https:// URL: e.g. ${key}=${example}`);
  }
  const conjur = env.CONJUR_APPLIANCE_URL === undefined ? undefined : safeUrl(env.CONJUR_APPLIANCE_URL);
  if (conjur?.protocol === 'http:' && (env.RELEASE_BOT_MODE ?? 'production') === 'production' && !LOOPBACK.has(conjur.hostname)) {
    warnings.push(
      `CONJUR_APPLIANCE_URL: is plain http:// in production: the bot's API key and every release credential would cross the network unencrypted; use https://, e.g. CONJUR_APPLIANCE_URL=https://${conjur.host}`,
    );
  }
  return { problems, warnings };
}

function safeUrl(raw: string): URL | undefined {
  try {
    return new URL(raw);
  } catch {
    return undefined;
  }
}
