import path from 'node:path';
import { assertCloudAccount, conjurCa, parseApplianceUrl } from '../conjur/appliance.js';
import { envValueMessage, envValueProblems } from './env-checks.js';
import { handlerSettings, type HandlerSettings } from './handler-settings.js';
import { directoryProblem, isLoopbackHost } from './host-checks.js';
import { envSchema, type EnvInput } from './schema.js';

const ENV_HINTS: Partial<Record<keyof EnvInput, string>> = {
  CONJUR_APPLIANCE_URL: 'put the URL of your Conjur server in .env (see .env.example)',
  CONJUR_ACCOUNT: 'put your Conjur account name in .env (see .env.example)',
  CONJUR_AUTHN_LOGIN: "put the bot's Conjur identity (e.g. host/release-bot) in .env (see .env.example)",
};

/** The Conjur URL, account and CA as the client will take them (Conjur Cloud's /api and account; one CA source). */
function conjurConnectionProblems(env: EnvInput): string[] {
  const problems: string[] = [];
  const check = (f: () => unknown) => {
    try {
      f();
    } catch (err) {
      problems.push(err instanceof Error ? err.message : String(err));
    }
  };
  check(() => assertCloudAccount(parseApplianceUrl(env.CONJUR_APPLIANCE_URL), env.CONJUR_ACCOUNT));
  check(() => conjurCa({ certFile: env.CONJUR_CERT_FILE, sslCertificate: env.CONJUR_SSL_CERTIFICATE }));
  return problems;
}

/**
 * Demo mode runs against loopback stand-ins only: it must never reach a real Conjur (where the
 * production credentials are) nor a real Slack workspace.
 */
function demoModeProblems(env: EnvInput): string[] {
  const problems: string[] = [];
  const off = (key: string, why: string) =>
    problems.push(
      `RELEASE_BOT_MODE: demo mode talks only to loopback stand-ins, and ${key} ${why}: unset RELEASE_BOT_MODE to use the real one`,
    );
  const conjurHost = new URL(env.CONJUR_APPLIANCE_URL).hostname;
  if (!isLoopbackHost(conjurHost)) off('CONJUR_APPLIANCE_URL', `points at ${conjurHost}`);
  if (env.SLACK_APP_TOKEN) off('SLACK_APP_TOKEN', 'is set (Socket Mode connects to Slack itself)');
  const slackHost = env.SLACK_API_URL ? new URL(env.SLACK_API_URL).hostname : undefined;
  if (env.SLACK_BOT_TOKEN && (!slackHost || !isLoopbackHost(slackHost)))
    off('SLACK_API_URL', slackHost ? `points at ${slackHost}` : 'is not set (the default is Slack itself)');
  return problems;
}

export interface EnvLoad {
  /** The environment as the schema parsed it; undefined when it refused a variable. */
  env: EnvInput | undefined;
  handlers: HandlerSettings;
  warnings: string[];
}

/**
 * The environment through its schema, then the rules on its values (the handlers' settings among
 * them) and the data directory; every problem is added to `problems`, none hides another.
 */
export function readEnv(cleanEnv: Readonly<Record<string, string>>, cwd: string, problems: string[]): EnvLoad {
  const envResult = envSchema.safeParse(cleanEnv);
  const refused = new Set<string>();
  if (!envResult.success) {
    for (const issue of envResult.error.issues) {
      const key = issue.path.join('.') as keyof EnvInput;
      refused.add(key);
      const missing = issue.code === 'invalid_type' && cleanEnv[key] === undefined;
      const hint = ENV_HINTS[key] ?? 'see .env.example';
      problems.push(missing ? `${key}: is not set: ${hint}` : envValueMessage(key, String(cleanEnv[key]), issue.message));
    }
  }
  const parsedEnv = envResult.success ? envResult.data : undefined;
  if (parsedEnv && !parsedEnv.CONJUR_AUTHN_API_KEY && !parsedEnv.CONJUR_AUTHN_TOKEN_FILE) {
    problems.push(
      'CONJUR_AUTHN_API_KEY: neither it nor CONJUR_AUTHN_TOKEN_FILE is set: give the bot its Conjur API key, or the path of a token file kept fresh by an authenticator sidecar',
    );
  }
  // The checks below read the raw values, so one refused variable does not hide the others' problems.
  const accepted = Object.fromEntries(Object.entries(cleanEnv).filter(([k]) => !refused.has(k)));
  const values = envValueProblems(accepted);
  const handlers = handlerSettings(accepted);
  problems.push(...values.problems, ...handlers.problems);
  if (parsedEnv) problems.push(...conjurConnectionProblems(parsedEnv));
  const dataProblem = directoryProblem(
    'RELEASE_BOT_DATA_DIR',
    path.resolve(cwd, cleanEnv.RELEASE_BOT_DATA_DIR ?? './data'),
    'RELEASE_BOT_DATA_DIR=/var/lib/release-bot/data',
  );
  if (dataProblem) problems.push(dataProblem);
  if (parsedEnv?.RELEASE_BOT_MODE === 'demo') problems.push(...demoModeProblems(parsedEnv));
  return { env: parsedEnv, handlers: handlers.settings, warnings: values.warnings };
}
