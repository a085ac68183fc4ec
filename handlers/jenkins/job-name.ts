/**
 * Jenkins job identities. A job is named by its full name (`conjur-cli`, or `team/conjur-cli` inside a
 * folder, `conjur-cli/main` for a multibranch branch) or by its URL, absolute
 * (`https://jenkins.example/job/team/job/conjur-cli/`, the `sub` of Jenkins' OIDC tokens) or relative
 * (`job/team/job/conjur-cli/`, the Notification plugin's `url`). Both become the full name.
 */

const MAX_LENGTH = 1024;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/** The full name of a job (`team/conjur-cli`), or undefined when `ref` names no job sensibly. */
export function jobFullName(ref: string): string | undefined {
  if (typeof ref !== 'string' || ref.length === 0 || ref.length > MAX_LENGTH || CONTROL.test(ref)) return undefined;
  const looksLikeUrl = /^[a-z][a-z0-9+.-]*:\/\//i.test(ref) || /(^|\/)job\//.test(ref);
  return looksLikeUrl ? fromUrl(ref) : fromName(ref);
}

function fromName(name: string): string | undefined {
  const segments = name.split('/');
  return segments.every(validSegment) ? segments.join('/') : undefined;
}

/** `[prefix]/job/a/job/b/`: every segment after the first `job` must be a `job/<name>` pair, to the end. */
function fromUrl(ref: string): string | undefined {
  let pathname: string;
  try {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(ref)) {
      const url = new URL(ref);
      if (url.search !== '' || url.hash !== '') return undefined;
      pathname = url.pathname;
    } else {
      pathname = ref;
    }
  } catch {
    return undefined;
  }
  if (pathname.includes('?') || pathname.includes('#')) return undefined;
  const parts = pathname.split('/').filter((p) => p !== '');
  const first = parts.indexOf('job');
  if (first < 0) return undefined;
  const names: string[] = [];
  for (let i = first; i < parts.length; i += 2) {
    if (parts[i] !== 'job' || i + 1 >= parts.length) return undefined;
    let name: string;
    try {
      name = decodeURIComponent(parts[i + 1] as string);
    } catch {
      return undefined;
    }
    if (!validSegment(name) || name.includes('/')) return undefined;
    names.push(name);
  }
  return names.length > 0 ? names.join('/') : undefined;
}

function validSegment(s: string): boolean {
  return s.length > 0 && s !== '.' && s !== '..' && !CONTROL.test(s);
}

/**
 * Whether `reported` is the job `configured` allows. Full names must be equal: a job of the same short
 * name in another folder is another job. `configured` may end in `/*` to allow any direct child (the
 * branch jobs of a multibranch pipeline, e.g. `conjur-cli/*`).
 */
export function jobAllowed(configured: string, reported: string): boolean {
  const actual = jobFullName(reported);
  if (actual === undefined) return false;
  if (configured.endsWith('/*')) {
    const parent = jobFullName(configured.slice(0, -2));
    if (parent === undefined) return false;
    const rest = actual.startsWith(`${parent}/`) ? actual.slice(parent.length + 1) : undefined;
    return rest !== undefined && rest.length > 0 && !rest.includes('/');
  }
  const wanted = jobFullName(configured);
  return wanted !== undefined && wanted === actual;
}
