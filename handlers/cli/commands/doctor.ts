import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import type { Command } from 'commander';
import { publishers } from '../../../publishers/registry.js';
import { parseSyslogUrl } from '../../../src/audit/forward-syslog.js';
import { DEBIAN_PACKAGE } from '../../../src/config/host-checks.js';
import { ConfigError, type Config } from '../../../src/config/load.js';
import { ErrorCode, toReleaseBotError } from '../../../src/errors.js';
import { createApp, type App } from '../../../app/create.js';
import { checkSkopeoVersion, MINIMUM_SKOPEO_VERSION } from '../../../src/staging/skopeo-version.js';
import { action, cliLogs } from '../run.js';
import { conjurLoginProblem, sentinelChecks, variableChecks } from './doctor-conjur.js';
import { destinationChecks, jwksCheck, slackChecks, type Check } from './doctor-network.js';

/** Tools whose version matters: the check the bot itself makes before it first runs one. */
const VERSION_CHECKS: Record<string, (found: string, redact: (text: string) => string) => Promise<Omit<Check, 'name'>>> = {
  skopeo: async (found, redact) => {
    try {
      const version = await checkSkopeoVersion(redact);
      return { ok: true, detail: `${found} (skopeo ${version}; ${MINIMUM_SKOPEO_VERSION} or newer needed)` };
    } catch (err) {
      const coded = toReleaseBotError(err);
      return { ok: false, detail: `${found}: ${coded.message} [${coded.code}]` };
    }
  },
};

/** Exit code when any check fails (the configuration failing keeps its own, 78). */
export const DOCTOR_FAILED_EXIT = 1;

async function onPath(tool: string, pathVar = process.env.PATH ?? ''): Promise<string | undefined> {
  for (const dir of pathVar.split(path.delimiter).filter(Boolean)) {
    const candidate = path.join(dir, tool);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not in this directory: try the next one.
    }
  }
  return undefined;
}

/** Which tools the configured destinations need, and for which destination types. */
export function requiredTools(config: Pick<Config, 'projects'>): Map<string, Set<string>> {
  const needs = new Map<string, Set<string>>();
  const need = (tool: string, why: string) => needs.set(tool, (needs.get(tool) ?? new Set()).add(why));
  for (const project of config.projects.values()) {
    // Docker projects' staged images are inspected with skopeo whatever their destinations are.
    if (project.artifact === 'docker') need('skopeo', 'docker staging');
    for (const d of project.destinations) {
      const tools = publishers.get(d.type)?.tools ?? [];
      // Options decide some tools (an ssh destination runs scp or rsync): only those it runs are required.
      for (const tool of typeof tools === 'function' ? tools(d.options) : tools) need(tool, `${d.type} destinations`);
    }
  }
  return needs;
}

function tcpReachable(host: string, port: number, timeoutMs = 3000): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (problem: string | undefined) => {
      socket.destroy();
      resolve(problem);
    };
    socket.setTimeout(timeoutMs, () => done(`no answer within ${timeoutMs} ms`));
    socket.once('connect', () => done(undefined));
    socket.once('error', (err: NodeJS.ErrnoException) => done(err.code ?? err.message));
  });
}

/** The configuration, the database and its audit chain, the staging directory. */
async function localChecks(app: App): Promise<Check[]> {
  const { config } = app;
  const checks: Check[] = [{ ok: true, name: 'configuration', detail: `${config.projects.size} project(s) in ${config.configFile}` }];
  const { schema, chain } = app.databaseHealth();
  checks.push({
    ok: chain.ok,
    name: 'database',
    detail: `${config.dataDir} (schema ${schema}), ${chain.count} audit entries, ${chain.break ? `audit chain BROKEN at seq ${chain.break.seq} (${chain.break.id}): run release-bot audit verify` : chain.gaps.length > 0 ? `audit entries deleted (seq ${chain.gaps.map((g) => (g.to > g.from ? `${g.from}–${g.to}` : g.from)).join(', ')} missing): run release-bot audit verify` : 'audit chain intact'}`,
  });
  try {
    await access(config.stagingDir, constants.R_OK | constants.X_OK);
    checks.push({ ok: true, name: 'staging directory', detail: config.stagingDir });
  } catch (err) {
    checks.push({
      ok: false,
      name: 'staging directory',
      detail: `${config.stagingDir} cannot be read (${(err as NodeJS.ErrnoException).code}): create it, readable by the bot's user`,
    });
  }
  return checks;
}

/** The bot's Conjur identity, then every credential variable and the groups' sentinels when it is logged in. */
async function conjurChecks(app: App): Promise<Check[]> {
  const { config, conjur } = app;
  const checks: Check[] = [];
  const login = config.env.CONJUR_AUTHN_LOGIN;
  let loggedIn: string | undefined;
  try {
    const me = await conjur.whoami();
    const same = me.username === login && me.account === config.env.CONJUR_ACCOUNT;
    checks.push({
      ok: same,
      name: 'Conjur identity',
      detail: same
        ? `${config.env.CONJUR_APPLIANCE_URL} answers; logged in as ${me.username} (account ${me.account})`
        : `Conjur says the bot is ${me.username} in account ${me.account}, the configuration says ${login} in ${config.env.CONJUR_ACCOUNT}: fix CONJUR_AUTHN_LOGIN / CONJUR_ACCOUNT`,
    });
  } catch (err) {
    const coded = toReleaseBotError(err);
    loggedIn =
      coded.code === ErrorCode.ConjurAuthFailed
        ? "Conjur refused the bot's login (see Conjur identity)"
        : coded.code === ErrorCode.ConjurForbidden
          ? 'Conjur refused the bot (see Conjur identity)'
          : 'Conjur did not answer';
    checks.push({ ok: false, name: 'Conjur identity', detail: conjurLoginProblem(config, coded) });
  }
  const variables = [
    ...new Set([...config.projects.values()].flatMap((p) => p.destinations.flatMap((d) => Object.values(d.credentials)))),
  ].sort();
  if (loggedIn === undefined)
    checks.push(...(await variableChecks(conjur, login, variables)), ...(await sentinelChecks(conjur, login, config)));
  else for (const id of variables) checks.push({ ok: false, name: `Conjur variable ${id}`, detail: `not checked: ${loggedIn}` });
  return checks;
}

/** Every tool the configured destinations need, on PATH, and its version where that matters. */
async function toolChecks(app: App): Promise<Check[]> {
  const checks: Check[] = [];
  for (const [tool, why] of [...requiredTools(app.config)].sort(([a], [b]) => a.localeCompare(b))) {
    const found = await onPath(tool);
    const pkg = DEBIAN_PACKAGE[tool];
    const name = `tool ${tool} (${[...why].join(', ')})`;
    if (found && VERSION_CHECKS[tool]) checks.push({ name, ...(await VERSION_CHECKS[tool](found, (t) => app.redactor.redact(t))) });
    else checks.push({ ok: Boolean(found), name, detail: found ?? `not found on PATH${pkg ? `: apt-get install ${pkg}` : ''}` });
  }
  return checks;
}

/** The audit's sinks (syslog reachable, JSONL directory writable) and what waits to be forwarded. */
async function auditForwardingChecks(app: App): Promise<Check[]> {
  const checks: Check[] = [];
  const syslogUrl = app.config.env.AUDIT_SYSLOG_URL;
  if (syslogUrl) {
    const target = parseSyslogUrl(syslogUrl);
    const problem = target.protocol === 'tcp' ? await tcpReachable(target.host, target.port) : undefined;
    checks.push({
      ok: problem === undefined,
      name: `audit syslog ${syslogUrl}`,
      detail:
        problem === undefined
          ? target.protocol === 'tcp'
            ? 'accepts connections'
            : 'configured (UDP gives no answer to check)'
          : `unreachable (${problem}): entries wait in the database until it is back`,
    });
  }
  const jsonl = app.config.env.AUDIT_JSONL_FILE;
  if (jsonl) {
    const dir = path.dirname(path.resolve(jsonl));
    const writable = await access(dir, constants.W_OK).then(
      () => true,
      () => false,
    );
    checks.push({
      ok: writable,
      name: `audit JSONL ${jsonl}`,
      detail: writable
        ? 'directory writable'
        : `${dir} is not writable by this user: create it, or add it to ReadWritePaths in the systemd unit`,
    });
  }
  for (const p of app.forwardingBacklog()) {
    checks.push({
      ok: true,
      name: `audit forwarding ${p.forwarder}`,
      detail: `${p.n} entr${p.n === 1 ? 'y' : 'ies'} not forwarded yet (release-bot serve sends them)`,
    });
  }
  return checks;
}

async function runChecks(app: App): Promise<Check[]> {
  const { config } = app;
  return [
    ...(await localChecks(app)),
    ...(await conjurChecks(app)),
    ...(await slackChecks(config.env, config.identity)),
    ...(await jwksCheck(config.env.JENKINS_JWKS_URL)),
    ...(await destinationChecks(config.projects)),
    ...(await toolChecks(app)),
    ...(await auditForwardingChecks(app)),
  ];
}

function render(checks: Check[]): string {
  const failed = checks.filter((c) => !c.ok).length;
  return [
    'release-bot doctor',
    ...checks.map((c) => `  ${c.ok ? 'ok  ' : 'FAIL'}  ${c.name}: ${c.detail}`),
    failed === 0 ? 'all checks passed' : `${failed} problem(s): fix them and run release-bot doctor again`,
    '',
  ].join('\n');
}

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description(
      'check configuration, Conjur reachability and identity, every credential, the tools destinations need; exit non-zero on any problem',
    )
    .option('--json', 'print the checks as JSON')
    .action(
      action(async (o: { json?: boolean }) => {
        let app: App;
        try {
          app = createApp(cliLogs);
        } catch (err) {
          if (!(err instanceof ConfigError)) throw err;
          const checks = err.problems.map((p) => ({ ok: false, name: 'configuration', detail: p }));
          process.stdout.write(o.json ? `${JSON.stringify(checks, null, 2)}\n` : render(checks));
          return 78;
        }
        try {
          const checks = await runChecks(app);
          // No check puts a value in its text; redacting the output anyway keeps one from ever getting out.
          process.stdout.write(app.redactor.redact(o.json ? `${JSON.stringify(checks, null, 2)}\n` : render(checks)));
          return checks.every((c) => c.ok) ? 0 : DOCTOR_FAILED_EXIT;
        } finally {
          app.close();
        }
      }),
    );
}
