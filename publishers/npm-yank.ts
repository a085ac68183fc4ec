import { ErrorCode, ReleaseBotError } from '../src/errors.js';
import { runCommand, type RunResult } from '../src/exec.js';
import type { YankContext, YankResult } from '../src/publishing/types.js';
import { clip } from '../src/validate.js';
import { RETRYABLE_NPM_CODES, type NpmOptions } from './npm.js';
import { NPM_TOKEN, pinnedNpmArgs, withNpmConfig } from './npm/config.js';
import { npmSaid } from './npm/said.js';

interface RegistryState {
  integrity: string | undefined;
  deprecated: string | undefined;
  latest: string | undefined;
}

type Npm = (command: string, positional: string[], flags?: string[]) => Promise<RunResult>;

/**
 * Yanks a version on npm the way npm means it: `npm deprecate <name>@<version> "<reason>"` (never
 * unpublish: a removed version breaks every lockfile that names it, and its number can never be used
 * again anyway), then, when the yanked version holds `latest`, `npm dist-tag add <name>@<previous> latest`.
 * Every command runs with the publish's pinned configuration (generated userconfig and empty
 * globalconfig, --registry, no proxy, strict-ssl; see pinnedNpmArgs) and the token only in the child's
 * environment; the positional arguments come after `--`, so a reason starting with "-" is no option.
 * The new state is read back with `npm view` before it answers.
 */
export async function yankNpm(ctx: YankContext, opts: NpmOptions): Promise<YankResult> {
  const name = opts.package_name ?? ctx.project;
  const version = ctx.version.replace(/^v/, '');
  const previous = ctx.previous?.version.replace(/^v/, '');
  const token = ctx.credentials[NPM_TOKEN];
  if (!token)
    throw new ReleaseBotError(
      ErrorCode.ConfigInvalid,
      `npm needs ${NPM_TOKEN} to deprecate ${name}@${version}: map it to a Conjur variable in the destination's credentials`,
    );
  const job: Job = { ctx, opts, name, version, previous, location: `${opts.registry}/${name}/v/${version}` };
  return withNpmConfig(ctx.tmpDir, opts.registry, async (files) => {
    const npm = npmRunner(job, token, files);
    const before = await view(npm, name, version, opts.registry);
    assertPublishedByUs(job, before);
    const deprecate = before.deprecated === undefined;
    const moveLatest = before.latest === version && previous !== undefined;
    const stuck = before.latest === version && previous === undefined;
    const actions = [
      ...(deprecate ? [`npm deprecate ${name}@${version} ${JSON.stringify(ctx.reason)} on ${opts.registry}`] : []),
      ...(moveLatest ? [`npm dist-tag add ${name}@${previous} latest (latest is ${version} now)`] : []),
    ];
    const stuckNote = stuck ? `; latest stays on ${version}: no earlier release to move it back to` : '';
    if (ctx.dryRun)
      return {
        status: 'planned',
        detail: actions.length ? actions.join('; ') + stuckNote : `nothing: ${name}@${version} is deprecated already${stuckNote}`,
        location: job.location,
        actions: actions.length ? actions : [`nothing: ${name}@${version} is deprecated already`],
      };
    if (!deprecate && !moveLatest)
      return {
        status: 'already-yanked',
        detail: `${name}@${version} is deprecated already (${clip(before.deprecated ?? '', 80)})${before.latest ? `; latest is ${before.latest}` : ''}${stuckNote}`,
        location: job.location,
      };
    return deprecateAndMoveLatest(npm, job, { deprecate, moveLatest, stuckNote });
  });
}

/** The version being yanked, where, and the one `latest` falls back to. */
interface Job {
  ctx: YankContext;
  opts: NpmOptions;
  name: string;
  version: string;
  previous: string | undefined;
  location: string;
}

/** Runs one npm command with the pinned configuration, the token only in the child's environment, its positionals after `--`. */
function npmRunner(job: Job, token: string, files: { userconfig: string; globalconfig: string }): Npm {
  const { ctx, opts, name } = job;
  return (command, positional, flags = []) =>
    runCommand('npm', [command, ...flags, ...pinnedNpmArgs(opts, { ...files, prefix: ctx.tmpDir }, name), '--', ...positional], {
      env: { [NPM_TOKEN]: token },
      cwd: ctx.tmpDir,
      timeoutMs: 3600_000, // the destination's timeout aborts ctx.signal first
      signal: ctx.signal,
      redact: ctx.redact,
      okExitCodes: [1],
    });
}

/** The registry still holds the version release-bot published, with the integrity it recorded; anything else is left alone. */
function assertPublishedByUs({ ctx, opts, name, version }: Job, before: RegistryState): void {
  if (before.integrity === undefined) {
    throw new ReleaseBotError(
      ErrorCode.DestinationFailed,
      `${opts.registry} does not have ${name}@${version}, which release-bot published there: someone unpublished it; nothing to deprecate`,
    );
  }
  if (ctx.published.readBackDigest && before.integrity !== ctx.published.readBackDigest) {
    throw new ReleaseBotError(
      ErrorCode.DestinationConflict,
      `${name}@${version} on ${opts.registry} has integrity ${clip(before.integrity, 30)}, not the ${clip(ctx.published.readBackDigest, 30)} release-bot published: left alone`,
    );
  }
}

/** Deprecates the version and moves `latest` back, as planned, then reads the new state back. */
async function deprecateAndMoveLatest(
  npm: Npm,
  { ctx, opts, name, version, previous, location }: Job,
  { deprecate, moveLatest, stuckNote }: { deprecate: boolean; moveLatest: boolean; stuckNote: string },
): Promise<YankResult> {
  if (deprecate) {
    ctx.progress(`npm deprecate ${name}@${version}`);
    check(await npm('deprecate', [`${name}@${version}`, ctx.reason]), `npm deprecate ${name}@${version}`);
  }
  if (moveLatest) {
    ctx.progress(`npm dist-tag add ${name}@${previous} latest`);
    check(await npm('dist-tag', ['add', `${name}@${previous}`, 'latest']), `npm dist-tag add ${name}@${previous} latest`);
  }
  const after = await view(npm, name, version, opts.registry);
  if (after.deprecated === undefined)
    throw new ReleaseBotError(ErrorCode.DestinationFailed, `${name}@${version} does not read back as deprecated on ${opts.registry}`, {
      retryable: true,
    });
  if (moveLatest && after.latest !== previous)
    throw new ReleaseBotError(
      ErrorCode.DestinationFailed,
      `latest of ${name} reads back as ${after.latest ?? 'nothing'}, not ${previous}`,
      {
        retryable: true,
      },
    );
  return {
    status: 'yanked',
    detail: `${deprecate ? `deprecated ${name}@${version}` : `${name}@${version} was deprecated already`}${moveLatest ? `; latest -> ${previous}` : after.latest ? `; latest is ${after.latest}` : ''}${stuckNote}`,
    location,
  };
}

/** `npm view name@version` of the fields the yank reads: the version's integrity and deprecation, the package's `latest`. */
async function view(npm: Npm, name: string, version: string, registry: string): Promise<RegistryState> {
  // The whole manifest: with fields named, npm prints a bare value when only one of them is present.
  const result = await npm('view', [`${name}@${version}`], ['--json', '--prefer-online']);
  if (result.exitCode !== 0) {
    const failure = failureOf(result, `npm view ${name}@${version}`);
    if (failure.details.npmCode === 'E404') return { integrity: undefined, deprecated: undefined, latest: undefined };
    throw failure;
  }
  if (result.stdout.trim() === '') return { integrity: undefined, deprecated: undefined, latest: undefined };
  let seen: { dist?: { integrity?: unknown }; deprecated?: unknown; 'dist-tags'?: { latest?: unknown } };
  try {
    const parsed = JSON.parse(result.stdout) as typeof seen | (typeof seen)[];
    seen = (Array.isArray(parsed) ? parsed.at(-1) : parsed) ?? {};
  } catch {
    throw new ReleaseBotError(
      ErrorCode.DestinationFailed,
      `npm view ${name}@${version} on ${registry} printed something that is not JSON: ${clip(result.stdout, 200)}`,
      { retryable: true },
    );
  }
  const text = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  return { integrity: text(seen.dist?.integrity), deprecated: text(seen.deprecated), latest: text(seen['dist-tags']?.latest) };
}

function check(result: RunResult, what: string): void {
  if (result.exitCode !== 0) throw failureOf(result, what);
}

/** Sorted as the publish sorts npm's failures: network, 429 and 5xx retryable; a refused token final. */
function failureOf(result: RunResult, what: string): ReleaseBotError {
  // The last lines of stderr only, as this yank always reported them (stdout may hold `npm view --json`'s answer).
  const { code, said } = npmSaid(result.stdout, result.stderr, result.stderr);
  const details = { npmCode: code };
  if (RETRYABLE_NPM_CODES.test(code))
    return new ReleaseBotError(ErrorCode.DestinationFailed, `${what} failed (${code}); will retry: ${said}`, { retryable: true, details });
  if (code === 'E401' || code === 'ENEEDAUTH' || code === 'E403')
    return new ReleaseBotError(
      ErrorCode.DestinationFailed,
      `${what}: npm refused the token behind ${NPM_TOKEN} (${code}): it needs publish rights on the package: ${said}`,
      { details },
    );
  return new ReleaseBotError(ErrorCode.DestinationFailed, `${what} failed${code ? ` (${code})` : ''}: ${said}`, { details });
}
