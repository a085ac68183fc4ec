import { isLoopbackHost } from './host-checks.js';
import type { EnvInput } from './schema.js';

export { MIN_JWT_SECRET_LENGTH } from './handler-settings.js';

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
 * The rules on values the schema accepted that a release would refuse later, beyond the handlers'
 * (handler-settings.ts). Values are never repeated: they are secrets or URLs.
 */
export function envValueProblems(env: Readonly<Record<string, string | undefined>>): EnvCheckResult {
  const problems: string[] = [];
  const warnings: string[] = [];
  const conjur = env.CONJUR_APPLIANCE_URL === undefined ? undefined : safeUrl(env.CONJUR_APPLIANCE_URL);
  if (conjur?.protocol === 'http:' && (env.RELEASE_BOT_MODE ?? 'production') === 'production' && !isLoopbackHost(conjur.hostname)) {
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
