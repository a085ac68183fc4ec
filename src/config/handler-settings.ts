import { createSecretKey, type KeyObject } from 'node:crypto';
import { isLoopbackHost } from './host-checks.js';
import { publicKeyFrom, type JwtPublicKey } from './jwt-public-key.js';
import type { EnvInput } from './schema.js';

/** Shorter shared secrets can be guessed offline from one signed report or token. */
export const MIN_JWT_SECRET_LENGTH = 32;
/** Slack's signing secrets are 32 characters; anything much shorter is a truncated copy. */
const MIN_SLACK_SIGNING_SECRET_LENGTH = 16;

/**
 * The Slack front end as `serve` mounts it; absent from the configuration when Slack is off. Socket
 * Mode when SLACK_APP_TOKEN is set (no inbound traffic), else HTTP at POST /slack/events, where Bolt
 * verifies each request's signature with the signing secret.
 */
export type SlackSettings = {
  botToken: string;
  /** SLACK_API_URL with its trailing slash, as the Web API client takes it. */
  apiUrl?: string | undefined;
} & ({ mode: 'http'; signingSecret: string } | { mode: 'socket'; appToken: string });

/** The keys build-ready tokens are verified with; none set: bearer tokens are refused. */
export interface JenkinsKeySettings {
  /** JENKINS_JWT_SECRET: HS256. */
  secret?: KeyObject | undefined;
  /** JENKINS_JWT_PUBLIC_KEY, read and checked: RS256 or ES256. */
  publicKey?: JwtPublicKey | undefined;
  /** JENKINS_JWKS_URL: RS256/ES256 keys by kid, fetched when the first token comes. */
  jwksUrl?: string | undefined;
}

/** The Jenkins webhook's settings, checked: what `jenkinsRouter` is built from. */
export interface JenkinsSettings {
  keys: JenkinsKeySettings;
  /** `aud` must be (or contain) this. */
  audience: string;
  /** `iss` must equal this when set. */
  issuer?: string | undefined;
  /** JENKINS_WEBHOOK_SECRET, for X-Hub-Signature-256 HMACs. */
  webhookSecret?: string | undefined;
}

export interface HandlerSettings {
  slack?: SlackSettings | undefined;
  jenkins: JenkinsSettings;
}

/** Environment variables as strings, those the schema refused left out. */
type RawEnv = { readonly [K in keyof EnvInput]?: string | undefined };

/**
 * The handlers' settings from the environment (values the schema refused left out), with every problem
 * `serve` would meet when it mounts them, so that check-config, doctor and every command list them at
 * once. Values are never repeated in a message: they are secrets or URLs.
 */
export function handlerSettings(env: RawEnv): { settings: HandlerSettings; problems: string[] } {
  const slack = slackSettings(env);
  const jenkins = jenkinsSettings(env);
  return { settings: { slack: slack.settings, jenkins: jenkins.settings }, problems: [...slack.problems, ...jenkins.problems] };
}

/** Slack is on when SLACK_SIGNING_SECRET (HTTP) or SLACK_APP_TOKEN (Socket Mode) is set; it then needs the bot token. */
export function slackSettings(env: RawEnv): { settings?: SlackSettings; problems: string[] } {
  const problems: string[] = [];
  const signing = env.SLACK_SIGNING_SECRET;
  if (signing !== undefined && (signing.length < MIN_SLACK_SIGNING_SECRET_LENGTH || /\s/.test(signing))) {
    problems.push(
      `SLACK_SIGNING_SECRET: is not a Slack signing secret (${signing.length} characters${/\s/.test(signing) ? ', with spaces' : ''}): copy the 32-character Signing Secret from the app's Basic Information page, e.g. SLACK_SIGNING_SECRET=8f742231b10e8888abcd99yyyzzz85a5`,
    );
  }
  const botToken = env.SLACK_BOT_TOKEN;
  if (botToken !== undefined && !botToken.startsWith('xoxb-')) {
    problems.push(
      "SLACK_BOT_TOKEN: is not a bot token (those start with xoxb-): copy the Bot User OAuth Token from the app's OAuth & Permissions page, e.g. SLACK_BOT_TOKEN=xoxb-1234-5678-abcd",
    );
  }
  const appToken = env.SLACK_APP_TOKEN;
  if (appToken !== undefined && !appToken.startsWith('xapp-')) {
    problems.push(
      "SLACK_APP_TOKEN: is not an app-level token (those start with xapp-): create one with the connections:write scope on the app's Basic Information page, e.g. SLACK_APP_TOKEN=xapp-1-A0123-4567-abcd",
    );
  }
  const on = [appToken !== undefined && 'SLACK_APP_TOKEN', signing !== undefined && 'SLACK_SIGNING_SECRET'].filter(Boolean);
  if (on.length > 0 && botToken === undefined) {
    problems.push(
      `SLACK_BOT_TOKEN: is not set, and Slack is on (${on.join(', ')}): copy the Bot User OAuth Token from the app's OAuth & Permissions page (see deploy/slack/README.md), e.g. SLACK_BOT_TOKEN=xoxb-1234-5678-abcd`,
    );
  }
  const apiUrl = env.SLACK_API_URL;
  if (apiUrl !== undefined && !/^https?:\/\//i.test(apiUrl))
    problems.push('SLACK_API_URL: is not an http:// or https:// URL: e.g. SLACK_API_URL=https://slack.com/api/');
  if (problems.length > 0 || botToken === undefined) return { problems };
  const api = apiUrl !== undefined ? { apiUrl: apiUrl.endsWith('/') ? apiUrl : `${apiUrl}/` } : {};
  if (appToken !== undefined) return { settings: { mode: 'socket', botToken, appToken, ...api }, problems };
  if (signing !== undefined) return { settings: { mode: 'http', botToken, signingSecret: signing, ...api }, problems };
  return { problems };
}

/** The webhook's keys and secrets: lengths, the public key read and checked, https:// for what is fetched or named over the network. */
export function jenkinsSettings(env: RawEnv): { settings: JenkinsSettings; problems: string[] } {
  const problems: string[] = [];
  const keys: JenkinsKeySettings = {};
  const secret = env.JENKINS_JWT_SECRET;
  if (secret !== undefined) {
    if (secret.length < MIN_JWT_SECRET_LENGTH) problems.push(shortSecret('JENKINS_JWT_SECRET', secret));
    else keys.secret = createSecretKey(Buffer.from(secret, 'utf8'));
  }
  const webhookSecret = env.JENKINS_WEBHOOK_SECRET;
  if (webhookSecret !== undefined && webhookSecret.length < MIN_JWT_SECRET_LENGTH)
    problems.push(shortSecret('JENKINS_WEBHOOK_SECRET', webhookSecret));
  if (env.JENKINS_JWT_PUBLIC_KEY !== undefined) {
    try {
      keys.publicKey = publicKeyFrom(env.JENKINS_JWT_PUBLIC_KEY);
    } catch (err) {
      problems.push(`JENKINS_JWT_PUBLIC_KEY: ${(err as Error).message}: e.g. JENKINS_JWT_PUBLIC_KEY=/etc/release-bot/jenkins.pem`);
    }
  }
  const jwksUrl = env.JENKINS_JWKS_URL;
  if (jwksUrl !== undefined) {
    const problem = jwksUrlProblem(jwksUrl);
    if (problem) problems.push(problem);
    else keys.jwksUrl = jwksUrl;
  }
  const issuer = env.JENKINS_JWT_ISSUER;
  if (issuer !== undefined && plainHttp(issuer))
    problems.push(
      "JENKINS_JWT_ISSUER: is plain http:// to another machine: OIDC issuers are https:// URLs (Jenkins' OIDC provider plugin names <Jenkins root URL>oidc, so give Jenkins an https:// root URL), e.g. JENKINS_JWT_ISSUER=https://jenkins.example.com/oidc",
    );
  return {
    settings: {
      keys,
      audience: env.JENKINS_JWT_AUDIENCE ?? 'release-bot',
      ...(issuer !== undefined ? { issuer } : {}),
      ...(webhookSecret !== undefined ? { webhookSecret } : {}),
    },
    problems,
  };
}

function shortSecret(key: string, value: string): string {
  return `${key}: is ${value.length} characters long: use at least ${MIN_JWT_SECRET_LENGTH} random characters, e.g. ${key}=$(openssl rand -hex 32)`;
}

/** The key set is fetched: over plain http to another machine, anyone on the path could hand the bot their own keys. */
function jwksUrlProblem(url: string): string | undefined {
  const example = 'e.g. JENKINS_JWKS_URL=https://jenkins.example.com/oidc/jwks';
  if (!/^https?:\/\//i.test(url)) return `JENKINS_JWKS_URL: is not an http:// or https:// URL: ${example}`;
  if (plainHttp(url))
    return `JENKINS_JWKS_URL: is plain http:// to another machine: anyone on the network path could serve the bot their own keys and sign build reports with them; use https://, ${example}`;
  return undefined;
}

/** An http:// URL whose host is not this machine. */
function plainHttp(value: string): boolean {
  if (!/^http:\/\//i.test(value)) return false;
  try {
    return !isLoopbackHost(new URL(value).hostname);
  } catch {
    return true;
  }
}
