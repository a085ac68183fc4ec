import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

/**
 * skopeo's configuration comes from the bot only. containers/image (v5.22, skopeo 1.9) otherwise
 * reads, besides its flags: registries.conf (mirrors, `location` rewrites of pulls, `insecure`,
 * `blocked`) from $HOME/.config/containers or /etc/containers; policy.json from the same places;
 * registries.d (signature lookaside and sigstore attachments) likewise; credentials from
 * REGISTRY_AUTH_FILE (the default of --authfile), $XDG_RUNTIME_DIR/containers/auth.json,
 * $XDG_CONFIG_HOME or $HOME/.config/containers/auth.json, $DOCKER_CONFIG or $HOME/.docker/config.json
 * and $HOME/.dockercfg, even behind an explicit --authfile (pkg/docker/config/config.go,
 * getAuthFilePaths); and HTTP(S)_PROXY through Go's net/http.
 *
 * So every run gets: the allowlisted environment of runCommand (none of those variables), a fresh
 * private HOME (nothing under it but what is written here), and the three files pinned on the
 * command line. What is left is root's machine configuration: /etc/containers/registries.conf.d
 * drop-ins are still read next to --registries-conf (skopeo has no flag for that directory,
 * pkg/sysregistriesv2/system_registries_v2.go), and the blob-info cache of a root process lives in
 * /var/lib/containers/cache (locations of blobs, which are verified by digest anyway).
 */

/** No search registries, mirrors, rewrites or insecure registries: a reference means what it says. */
const REGISTRIES_CONF = `# Written by release-bot for one skopeo run (see src/staging/skopeo-home.ts).
unqualified-search-registries = []
`;

/**
 * The trust policy (containers-policy.json(5)). No signature is checked: the bot pins the source by
 * a digest it measured itself (sha256 of the raw manifest, at staging and again before publishing)
 * and skopeo verifies every blob against that manifest, so the bytes published are the bytes that
 * were staged; a signature from the build side would only vouch for what the build side chose. The
 * policy still narrows what a copy may read: only the staging repository of this run, every other
 * source is rejected.
 */
export function trustPolicy(sourceRepository?: string): string {
  return JSON.stringify({
    default: [{ type: 'reject' }],
    transports: sourceRepository ? { docker: { [sourceRepository]: [{ type: 'insecureAcceptAnything' }] } } : {},
  });
}

export interface SkopeoHome {
  /** HOME and working directory of the run: private, 0700. */
  dir: string;
  /** Global flags pinning skopeo's configuration files to the ones in `dir`. */
  args: string[];
  remove(): Promise<void>;
}

/** A fresh HOME under `parent` with the bot's registries.conf, policy.json and an empty registries.d. */
export async function makeSkopeoHome(parent: string = tmpdir(), sourceRepository?: string): Promise<SkopeoHome> {
  const dir = await mkdtemp(path.join(parent, 'skopeo-'));
  const remove = () => rm(dir, { recursive: true, force: true });
  try {
    const registriesConf = path.join(dir, 'registries.conf');
    const policy = path.join(dir, 'policy.json');
    const registriesD = path.join(dir, 'registries.d');
    await writeFile(registriesConf, REGISTRIES_CONF, { mode: 0o400, flag: 'wx' });
    await writeFile(policy, trustPolicy(sourceRepository), { mode: 0o400, flag: 'wx' });
    await mkdir(registriesD, { mode: 0o500 });
    return { dir, args: ['--registries-conf', registriesConf, '--policy', policy, '--registries.d', registriesD], remove };
  } catch (err) {
    await remove();
    throw err;
  }
}
