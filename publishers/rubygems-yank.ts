import { ErrorCode, ReleaseBotError } from '../src/errors.js';
import type { YankContext, YankResult } from '../src/publishing/types.js';
import { clip } from '../src/validate.js';
import { httpError, request, type Service } from './http.js';
import { credential } from './common/credential.js';
import { sleep } from './common/wait.js';
import { listedVersions, type VersionEntry } from './rubygems.js';

/** The rubygems destination's options a yank reads (publishers/rubygems.ts). */
export interface RubygemsYankOptions {
  host: string;
  gem_name?: string | undefined;
  read_back_interval_ms: number;
}

const KEY = 'GEM_HOST_API_KEY';
const SERVICE: Service = { name: 'RubyGems', credential: KEY };
const READ_BACK_ATTEMPTS = 5;

interface Gem {
  name: string;
  version: string;
  sha256: string;
}

/**
 * Yanks the published gem through the RubyGems API: `DELETE /api/v1/gems/yank` with `gem_name`,
 * `version` and `platform` as a form, the API key as Authorization (rubygems/rubygems.org
 * app/controllers/api/v1/deletions_controller.rb; the same request `gem yank` sends,
 * rubygems lib/rubygems/commands/yank_command.rb). Not `gem yank` itself, although publish runs
 * `gem push`: `gem yank` exits 0 whatever the server answered (it prints the body), and on a 401
 * asking for an OTP or a 403 for the key's scope it starts prompts for a code or an email and password.
 *
 * The gem is found by the sha256 publish read back, so its platform is the published one and nothing
 * else of that version is touched. The versions list shows only versions that are not yanked
 * (api/v1/versions_controller.rb, `public_versions`), so "not listed" is the read-back.
 */
export async function yankRubygems(ctx: YankContext, opts: RubygemsYankOptions): Promise<YankResult> {
  const key = credential(ctx, 'rubygems', KEY);
  const gem = gemOf(ctx, opts);
  const location = `${opts.host}/gems/${gem.name}/versions/${gem.version}`;
  const listed = await findListed(ctx, opts, key, gem);
  if (!listed)
    return {
      status: 'already-yanked',
      detail: `${gem.name} ${gem.version} (sha256 ${gem.sha256.slice(0, 12)}…) is not listed on ${opts.host}: yanked`,
      location,
    };
  const platform = listed.platform ?? 'ruby';
  const label = `${gem.name} ${gem.version}${platform === 'ruby' ? '' : ` (${platform})`}`;
  const form: Record<string, string> = { gem_name: gem.name, version: gem.version, ...(platform === 'ruby' ? {} : { platform }) };
  if (ctx.dryRun) {
    return {
      status: 'planned',
      detail: `would yank ${label} from ${opts.host}`,
      actions: [`DELETE ${opts.host}/api/v1/gems/yank ${new URLSearchParams(form).toString()}`],
      location,
    };
  }

  ctx.progress(`yanking ${label} from ${opts.host}`);
  const url = `${opts.host}/api/v1/gems/yank`;
  const res = await request<unknown>(ctx, SERVICE, {
    method: 'DELETE',
    url,
    headers: { Authorization: key },
    form,
    plainText: true,
    expect: [403, 422],
  });
  if (res.status === 403 || res.status === 422) {
    const said = clip(ctx.redact((res.text ?? JSON.stringify(res.data ?? '')).trim().replace(/\s+/g, ' ')), 300);
    // The server's own words decide: the 422 of a version yanked meanwhile, the 403 of a gem its policy keeps.
    if (res.status === 422 && /already been deleted/i.test(said))
      return { status: 'already-yanked', detail: `${label} was already yanked on ${opts.host}`, location };
    if (res.status === 403 && /contact RubyGems support/i.test(said))
      return { status: 'cannot-yank', detail: `${opts.host} refuses to yank ${label}: ${said}`, location };
    throw httpError(ctx, SERVICE, `DELETE /api/v1/gems/yank (${label})`, res.status, res.headers, res.text ?? said);
  }

  for (let attempt = 1; ; attempt += 1) {
    if (!(await findListed(ctx, opts, key, gem))) return { status: 'yanked', detail: `${label} yanked from ${opts.host}`, location };
    if (attempt >= READ_BACK_ATTEMPTS) break;
    await sleep(opts.read_back_interval_ms, ctx.signal);
  }
  throw new ReleaseBotError(
    ErrorCode.DestinationFailed,
    `${label} was yanked but ${opts.host} still lists it; the retry will check again`,
    { retryable: true },
  );
}

function gemOf(ctx: YankContext, opts: RubygemsYankOptions): Gem {
  const sha256 = /^sha256:([0-9a-f]{64})$/.exec(ctx.published.readBackDigest ?? '')?.[1];
  if (!sha256) {
    throw new ReleaseBotError(
      ErrorCode.BadInput,
      `the rubygems destination recorded no sha256 for ${clip(ctx.version, 40)}, so the gem it pushed cannot be told from another platform's: yank it by hand with \`gem yank\``,
    );
  }
  return { name: opts.gem_name ?? ctx.project, version: ctx.version.replace(/^v/, ''), sha256 };
}

/** The listed version whose sha256 is the published gem's, or undefined when it is not listed (yanked). */
async function findListed(ctx: YankContext, opts: RubygemsYankOptions, key: string, gem: Gem): Promise<VersionEntry | undefined> {
  return (await listedVersions(ctx, opts.host, key, gem.name))?.find((v) => v.number === gem.version && v.sha === gem.sha256);
}
