/**
 * Orders versions as semver does (numeric core parts, a pre-release before its release, build
 * metadata ignored), for the versions src/validate.ts admits (`v4.2.0`, `4.2`, `4.2.0-rc.1`).
 * What `latest` moves back to after a yank is the highest remaining version below the yanked one.
 */
export function compareVersions(a: string, b: string): number {
  const pa = parts(a);
  const pb = parts(b);
  for (let i = 0; i < Math.max(pa.core.length, pb.core.length); i += 1) {
    const d = compareIdentifiers(pa.core[i] ?? '0', pb.core[i] ?? '0');
    if (d !== 0) return d;
  }
  if (pa.pre.length === 0 || pb.pre.length === 0) return pb.pre.length - pa.pre.length === 0 ? 0 : pa.pre.length === 0 ? 1 : -1;
  for (let i = 0; i < Math.max(pa.pre.length, pb.pre.length); i += 1) {
    const x = pa.pre[i];
    const y = pb.pre[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    const d = compareIdentifiers(x, y);
    if (d !== 0) return d;
  }
  return 0;
}

function parts(v: string): { core: string[]; pre: string[] } {
  const noBuild = v.replace(/^v/, '').split('+')[0] as string;
  const dash = noBuild.indexOf('-');
  const core = (dash < 0 ? noBuild : noBuild.slice(0, dash)).split('.');
  const pre = dash < 0 ? [] : noBuild.slice(dash + 1).split('.');
  return { core, pre };
}

/** Numeric identifiers compare as numbers and before alphanumeric ones, which compare as text. */
function compareIdentifiers(x: string, y: string): number {
  const nx = /^\d+$/.test(x);
  const ny = /^\d+$/.test(y);
  if (nx && ny) return Number(x) - Number(y) || x.length - y.length;
  if (nx) return -1;
  if (ny) return 1;
  return x < y ? -1 : x > y ? 1 : 0;
}
