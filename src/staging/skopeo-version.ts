import { ErrorCode, ReleaseBotError } from '../errors.js';
import { runCommand } from '../exec.js';
import { clip } from '../validate.js';

/**
 * The oldest skopeo with every flag the bot passes. `copy --preserve-digests` arrived in 1.6.0
 * (cmd/skopeo/copy.go at v1.6.0, absent at v1.5.2); everything else is older: `inspect --raw`,
 * `--digestfile`, `--remove-signatures`, `--src-no-creds`/`--dest-no-creds`/`--no-creds` and the
 * global `--policy`, `--registries.d`, `--registries-conf` are all in v1.4.0 (`inspect --no-tags`,
 * 1.5.1, is not used: `--raw` lists no tags).
 */
export const MINIMUM_SKOPEO_VERSION = '1.6.0';

const INSTALL_HINT =
  'install skopeo 1.6.0 or newer (Debian 12 ships 1.9.3: apt-get install skopeo; the packages of Debian 11 and Ubuntu 22.04 are older than 1.6) and make it the first skopeo on the PATH of release-bot';

function parts(version: string): number[] {
  return version.split('.').map((p) => Number.parseInt(p, 10));
}

/** Whether `version` (x.y.z) is at least `minimum`. */
export function versionAtLeast(version: string, minimum: string): boolean {
  const [a, b] = [parts(version), parts(minimum)];
  for (let i = 0; i < Math.max(a.length, b.length); i += 1) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d > 0;
  }
  return true;
}

/**
 * Reads `skopeo --version` ("skopeo version 1.9.3", or "... 1.9.3 commit: <sha>" in upstream builds,
 * cmd/skopeo/main.go) and returns the version, or throws CONFIG_INVALID naming the minimum and what
 * to install. A missing skopeo is EXEC_FAILED from runCommand ("not installed or not on PATH").
 */
export async function checkSkopeoVersion(redact: (text: string) => string): Promise<string> {
  const { stdout } = await runCommand('skopeo', ['--version'], { timeoutMs: 30_000, redact });
  const version = /^skopeo version v?(\d+\.\d+\.\d+)/m.exec(stdout)?.[1];
  if (!version) {
    throw new ReleaseBotError(
      ErrorCode.ConfigInvalid,
      `skopeo --version printed ${JSON.stringify(clip(stdout, 100))}, not "skopeo version x.y.z": the skopeo on PATH is not skopeo; ${INSTALL_HINT}`,
      {
        details: { tool: 'skopeo', minimum: MINIMUM_SKOPEO_VERSION },
      },
    );
  }
  if (!versionAtLeast(version, MINIMUM_SKOPEO_VERSION)) {
    throw new ReleaseBotError(
      ErrorCode.ConfigInvalid,
      `skopeo ${version} is too old: release-bot needs skopeo ${MINIMUM_SKOPEO_VERSION} or newer (for copy --preserve-digests); ${INSTALL_HINT}`,
      {
        details: { tool: 'skopeo', version, minimum: MINIMUM_SKOPEO_VERSION },
      },
    );
  }
  return version;
}

/** Successful checks, by the PATH they were made with: a process checks once, a new PATH again. */
const checked = new Map<string, Promise<string>>();

/**
 * `checkSkopeoVersion` once per process and PATH, before the first skopeo run. A failure is not
 * remembered: installing a newer skopeo fixes the next attempt without a restart.
 */
export function ensureSkopeoVersion(redact: (text: string) => string): Promise<string> {
  const key = process.env.PATH ?? '';
  const known = checked.get(key);
  if (known) return known;
  const check = checkSkopeoVersion(redact);
  checked.set(key, check);
  check.catch(() => checked.delete(key));
  return check;
}
