import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { NpmOptions as Options } from '../npm.js';

export const NPM_TOKEN = 'NPM_TOKEN';

/** The per-run userconfig and empty globalconfig (see withSession), for every npm command the bot runs (publish, yank). */
export async function withNpmConfig<T>(
  tmpDir: string,
  registryUrl: string,
  body: (files: { userconfig: string; globalconfig: string }) => Promise<T>,
): Promise<T> {
  const id = `${process.pid}-${Date.now()}`;
  const userconfig = path.join(tmpDir, `npmrc-${id}`);
  const globalconfig = path.join(tmpDir, `npmrc-global-${id}`);
  const registry = `${registryUrl}/`;
  const nerfDart = `//${new URL(registry).host}${new URL(registry).pathname}`;
  // The core retries with its own backoff; npm's built-in retries would multiply it.
  const settings = ['fetch-retries=0', 'update-notifier=false', 'audit=false', 'fund=false'];
  try {
    await writeFile(userconfig, `registry=${registry}\n${nerfDart}:_authToken=\${${NPM_TOKEN}}\n${settings.join('\n')}\n`, {
      mode: 0o600,
      flag: 'wx',
    });
    await writeFile(globalconfig, '', { mode: 0o600, flag: 'wx' });
    return await body({ userconfig, globalconfig });
  } finally {
    await Promise.all([rm(userconfig, { force: true }), rm(globalconfig, { force: true })]);
  }
}

/**
 * Where npm sends the token, through which proxy and with which TLS trust is set on the command line,
 * since npm applies the tarball's publishConfig for every key its command line does not set (see
 * src/artifact/npm-tarball.ts). `--https-proxy` has no "none" value (an empty one is dropped as invalid
 * and the key is then free again), so `--noproxy=<registry host>` makes npm bypass every proxy for the
 * registry, whichever one a lower layer would name; `--proxy=false` disables the plain one.
 */
export function pinnedNpmArgs(
  opts: Pick<Options, 'registry' | 'cafile'>,
  files: { userconfig: string; globalconfig: string; prefix: string },
  name: string,
): string[] {
  const registry = `${opts.registry}/`;
  const scope = /^(@[^/]+)\//.exec(name)?.[1];
  return [
    `--registry=${registry}`,
    ...(scope ? [`--${scope}:registry=${registry}`] : []),
    `--userconfig=${files.userconfig}`,
    `--globalconfig=${files.globalconfig}`,
    // The project config is <prefix>/.npmrc; without --prefix npm looks for it above its working directory.
    `--prefix=${files.prefix}`,
    '--proxy=false',
    `--noproxy=${new URL(registry).hostname}`,
    '--strict-ssl=true',
    ...(opts.cafile ? [`--cafile=${opts.cafile}`] : []),
  ];
}
