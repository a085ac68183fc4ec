import { ErrorCode, ReleaseBotError } from '../src/errors.js';
import { runCommand, tail } from '../src/exec.js';
import { definePublisher } from '../src/publishing/define-publisher.js';
import type { PublishContext } from '../src/publishing/types.js';
import { clip } from '../src/validate.js';
import { credential } from './common/credential.js';
import { registryChecks } from './common/registry-checks.js';
import { oncePerAttempt } from './common/staged-package.js';
import { NPM_TOKEN, pinnedNpmArgs, withNpmConfig } from './npm/config.js';
import { npmSaid } from './npm/said.js';
import { npmType } from './destination-types.js';
import { type NpmOptions } from './npm/options.js';
import { inspectTarball, type Tarball } from './npm/tarball.js';
import { yankNpm } from './npm-yank.js';

export { NPM_TOKEN, pinnedNpmArgs, withNpmConfig } from './npm/config.js';

export type { NpmOptions } from './npm/options.js';
type Options = NpmOptions;

const TOKEN = NPM_TOKEN;
export const RETRYABLE_NPM_CODES =
  /^(E429|E5\d\d|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ESOCKETTIMEDOUT|EAI_AGAIN|ENOTFOUND|EPIPE|ERR_SOCKET_TIMEOUT|FETCH_ERROR)$/;

interface Session {
  ctx: PublishContext;
  opts: Options;
  userconfig: string;
  globalconfig: string;
  token: string;
  tgz: Tarball;
}

/** Publishes a staged npm tarball; the registry's integrity for name@version must equal the tarball's sha512. */
export const npmPublisher = definePublisher<Options>({
  ...npmType,
  description: 'publishes the staged .tgz to an npm registry with a token from Conjur',
  async preflight(ctx, opts) {
    await inspectTarball(ctx, opts);
  },
  yank: (ctx, opts) => yankNpm(ctx, opts),
  async plan(ctx, opts) {
    const tgz = await inspected(ctx, opts);
    return {
      actions: [
        `npm publish ${tgz.file} (${tgz.name}@${tgz.version}, ${tgz.integrity.slice(0, 20)}…) to ${opts.registry} --tag ${opts.tag}`,
      ],
    };
  },
  async publish(ctx, opts) {
    const token = credential(ctx, 'npm', TOKEN);
    const tgz = await inspected(ctx, opts);
    ctx.progress(`npm publish ${tgz.name}@${tgz.version}`);
    const args = ['publish', tgz.abs, `--tag=${opts.tag}`, ...(opts.access ? [`--access=${opts.access}`] : []), '--ignore-scripts'];
    const result = await withSession(ctx, opts, token, tgz, (s) => npm(s, args));
    if (result.exitCode !== 0) throw classify(result.stdout, result.stderr, 'publish', tgz).error;
    return { status: 'published', location: locationOf(opts, tgz), detail: `${tgz.name}@${tgz.version} tagged ${opts.tag}` };
  },
  ...registryChecks<Options, Tarball>({
    look: async (ctx, opts) => {
      const token = credential(ctx, 'npm', TOKEN);
      const tgz = await inspected(ctx, opts);
      return { pkg: tgz, seen: await withSession(ctx, opts, token, tgz, (s) => viewIntegrity(s, tgz)) };
    },
    digest: (tgz) => tgz.integrity,
    present: (tgz, opts) => ({
      readBackDigest: tgz.integrity,
      location: locationOf(opts, tgz),
      detail: `${tgz.name}@${tgz.version} is already on ${opts.registry} with the same integrity`,
    }),
    conflict: (tgz, seen, opts) =>
      `${tgz.name}@${tgz.version} is already on ${opts.registry} with another integrity (${clip(seen, 30)}, staged ${clip(tgz.integrity, 30)}): npm versions cannot be replaced, release a new version`,
    notYet: (tgz, opts) => `${tgz.name}@${tgz.version} was published but ${opts.registry} does not show it yet`,
    mismatch: (tgz, seen, opts) =>
      `${opts.registry} reports ${tgz.name}@${tgz.version} with integrity ${clip(seen, 30)} after publishing ${clip(tgz.integrity, 30)}: investigate the registry before releasing again`,
  }),
});

function locationOf(opts: Options, tgz: Tarball): string {
  return `${opts.registry}/${tgz.name}/v/${tgz.version}`;
}

/** The tarball as inspectTarball reads it, once per attempt. */
const inspected = oncePerAttempt(inspectTarball);

/**
 * Writes a per-run userconfig and an empty globalconfig (0600, in the destination's private temp dir,
 * removed afterwards), so no npmrc of the machine counts. The userconfig names the token only as
 * ${NPM_TOKEN}, which npm expands from its environment: the secret is in no file and on no command line
 * (argv is world-readable in /proc); the environment of the child is readable only by its own user and
 * root, who could read Conjur's answer from the bot's memory anyway, and runCommand gives the child
 * nothing else of the bot's environment (no npm_config_*, no HTTPS_PROXY).
 */
async function withSession<T>(
  ctx: PublishContext,
  opts: Options,
  token: string,
  tgz: Tarball,
  body: (s: Session) => Promise<T>,
): Promise<T> {
  return withNpmConfig(ctx.tmpDir, opts.registry, (files) => body({ ctx, opts, ...files, token, tgz }));
}

async function npm(s: Session, args: string[]) {
  const pinned = pinnedNpmArgs(s.opts, { userconfig: s.userconfig, globalconfig: s.globalconfig, prefix: s.ctx.tmpDir }, s.tgz.name);
  const result = await runCommand('npm', [...args, ...pinned], {
    env: { [TOKEN]: s.token },
    cwd: s.ctx.tmpDir,
    timeoutMs: 3600_000, // the destination's timeout aborts ctx.signal first
    signal: s.ctx.signal,
    redact: s.ctx.redact,
    okExitCodes: [1],
  });
  s.ctx.log.debug({ npm: args[0], exitCode: result.exitCode, stderr: tail(result.stderr, 4) }, 'npm finished');
  return result;
}

/** The registry's dist.integrity of name@version (sha1 `shasum` as a fallback for old entries), or undefined when absent. */
async function viewIntegrity(s: Session, tgz: Tarball): Promise<string | undefined> {
  const result = await npm(s, ['view', `${tgz.name}@${tgz.version}`, 'dist', '--json', '--prefer-online']);
  if (result.exitCode !== 0) {
    const failure = classify(result.stdout, result.stderr, 'view', tgz);
    if (failure.code === 'E404') return undefined;
    throw failure.error;
  }
  if (result.stdout.trim() === '') return undefined; // older npm: a missing version prints nothing
  let dist: { integrity?: string; shasum?: string } | Array<{ integrity?: string }>;
  try {
    dist = JSON.parse(result.stdout) as typeof dist;
  } catch {
    throw new ReleaseBotError(
      ErrorCode.DestinationFailed,
      `npm view ${tgz.name}@${tgz.version} printed something that is not JSON: ${clip(result.stdout, 200)}`,
      { retryable: true },
    );
  }
  const one = Array.isArray(dist) ? dist[0] : dist;
  if (one?.integrity) return one.integrity;
  return one && 'shasum' in one && one.shasum ? `sha1:${one.shasum}` : undefined;
}

/** Sorts an npm failure: retryable (network, 429, 5xx), conflict, auth or other final errors, each saying what to do. */
function classify(
  stdout: string,
  stderr: string,
  action: 'view' | 'publish',
  tgz: Tarball,
): { code: string; conflict: boolean; error: ReleaseBotError } {
  const { code, said } = npmSaid(stdout, stderr);
  const what = `npm ${action} ${tgz.name}@${tgz.version}`;
  const conflict = /cannot publish over|previously published/i.test(said) || code === 'EPUBLISHCONFLICT' || code === 'E409';
  const make = (c: ErrorCode, message: string, retryable = false, reason = 'rejected') => ({
    code,
    conflict,
    error: new ReleaseBotError(c, message, { retryable, details: { reason, npmCode: code } }),
  });
  if (conflict)
    return make(
      ErrorCode.DestinationConflict,
      `${what}: the registry already has this version and refuses to replace it: release a new version (${said})`,
      false,
      'conflict',
    );
  if (RETRYABLE_NPM_CODES.test(code))
    return make(ErrorCode.DestinationFailed, `${what} failed (${code}); will retry: ${said}`, true, 'network');
  if (code === 'E401' || code === 'ENEEDAUTH')
    return make(
      ErrorCode.DestinationFailed,
      `npm rejected the token (${code}): check the Conjur variable behind ${TOKEN} (wrong, expired or revoked)`,
      false,
      'auth',
    );
  if (code === 'EOTP')
    return make(
      ErrorCode.DestinationFailed,
      `npm asks for a one-time password: store an automation or granular publish token (no 2FA prompt) in the Conjur variable behind ${TOKEN}`,
      false,
      'auth',
    );
  if (code === 'E403')
    return make(
      ErrorCode.DestinationFailed,
      `npm refused ${what} (E403): the token behind ${TOKEN} lacks publish rights for ${tgz.name}: ${said}`,
      false,
      'auth',
    );
  return make(ErrorCode.DestinationFailed, `${what} failed${code ? ` (${code})` : ''}: ${said}`);
}
