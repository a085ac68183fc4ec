import path from 'node:path';
import { ErrorCode, ReleaseBotError } from '../src/errors.js';
import type { YankContext, YankResult } from '../src/publishing/types.js';
import { clip } from '../src/validate.js';
import { yankByMoving } from './common/yank-by-moving.js';
import { YANKED_DIR, yankedFiles, yankNote } from './directory-yank.js';
import { connect, sshRun } from './ssh/connection.js';
import { assertSafeName, q, remoteDir, type SshOptions } from './ssh/options.js';

interface RemoteFile {
  path: string;
  sha256?: string | undefined;
}

/** What the download host holds of one file: in place, in yanked/, as a symlink or special file, with which digest. */
interface Seen {
  here?: string | undefined;
  yanked?: string | undefined;
}

/**
 * Moves the version's files (and its release label) on the download host into `yanked/` inside the
 * directory they were uploaded to, with a `<file>.yank.json` beside each, then reads the move back.
 *
 * Decision: as on the publish path, every remote name is limited to a charset with no shell meaning
 * and single-quoted; the reason, which is free text, never enters a command: the note arrives on the
 * remote command's stdin. A symlink or a special file at any name the yank touches (a file, its
 * sub-directories, `yanked/` itself) is refused before anything moves, and a file moves with `ln`
 * (never replacing an existing name) then `rm`, never `mv` onto something already there.
 */
export async function yankSsh(ctx: YankContext, opts: SshOptions): Promise<YankResult> {
  const files: RemoteFile[] = yankedFiles(ctx).map((f) => ({ ...f, path: assertSafeName(f.path) }));
  const dir = remoteDir(ctx, opts.path);
  const target = `${opts.user}@${opts.host}`;
  const location = `${target}:${dir}/${YANKED_DIR}`;
  const conn = await connect(ctx, opts);
  try {
    const before = await inspect(ctx, opts, conn, dir, files);
    const toMove = files.filter((f) => before.get(f.path)?.here !== undefined);
    const gone = files.filter((f) => !before.get(f.path)?.here && !before.get(f.path)?.yanked);
    if (gone.length > 0)
      throw new ReleaseBotError(
        ErrorCode.DestinationFailed,
        `${target}:${dir} holds neither ${gone.map((g) => g.path).join(', ')} nor its copy in ${YANKED_DIR}/: someone removed it; check the host by hand`,
      );
    return await yankByMoving(ctx, {
      files,
      toMove,
      location,
      planned: (f) =>
        `move ${target}:${dir}/${f.path} to ${dir}/${YANKED_DIR}/${f.path} with ${f.path}.yank.json (over ssh, port ${opts.port})`,
      move: async (moving) => {
        ctx.progress(`moving ${moving.length} file(s) into ${location}`);
        await sshRun(ctx, opts, conn, `moving files into ${location}`, moveScript(dir, moving), undefined, yankNote(ctx, { path: '*' }));
      },
      notOnlyYanked: async () => {
        const after = await inspect(ctx, opts, conn, dir, files);
        return files.filter((f) => after.get(f.path)?.here !== undefined || after.get(f.path)?.yanked === undefined);
      },
    });
  } finally {
    await conn.cleanup();
  }
}

/** Every directory a file's path passes through (`a`, `a/b` for `a/b/c`), in place and under yanked/. */
function dirsOf(files: RemoteFile[]): string[] {
  const dirs = new Set<string>([YANKED_DIR]);
  for (const f of files) {
    const parts = f.path.split('/').slice(0, -1);
    for (let i = 1; i <= parts.length; i += 1) {
      dirs.add(parts.slice(0, i).join('/'));
      dirs.add(`${YANKED_DIR}/${parts.slice(0, i).join('/')}`);
    }
  }
  return [...dirs];
}

/** Refuses (exit 5, naming it) when any of `names` is a symlink or exists as something other than a directory. */
function noLinks(names: string[]): string {
  return `for d in ${names.map(q).join(' ')}; do if [ -L "$d" ] || { [ -e "$d" ] && [ ! -d "$d" ]; }; then echo "notadir $d" >&2; exit 5; fi; done`;
}

/** Lines `H|Y <sha256>  <name>`, `H|Y link|notafile <name>`; `notadir <name>` for a symlinked directory; nothing for a missing file. */
function stateScript(dir: string, files: RemoteFile[]): string {
  const names = files.map((f) => q(f.path)).join(' ');
  const one = (tag: string, p: string) =>
    `if [ -L "${p}" ]; then echo "${tag} link $f"; elif [ -f "${p}" ]; then h=$(sha256sum < "${p}") || exit 3; echo "${tag} \${h%% *}  $f"; elif [ -e "${p}" ]; then echo "${tag} notafile $f"; fi`;
  return `if [ ! -d ${q(dir)} ] || [ -L ${q(dir)} ]; then echo 'notadir .'; exit 0; fi; cd ${q(dir)} || exit 3; ${noLinks(dirsOf(files))}; for f in ${names}; do ${one('H', '$f')}; ${one('Y', `${YANKED_DIR}/$f`)}; done`;
}

async function inspect(
  ctx: YankContext,
  opts: SshOptions,
  conn: Awaited<ReturnType<typeof connect>>,
  dir: string,
  files: RemoteFile[],
): Promise<Map<string, Seen>> {
  const stdout = await sshRun(ctx, opts, conn, `checking ${opts.user}@${opts.host}:${dir}`, stateScript(dir, files)).catch(
    (err: unknown) => {
      const said = err instanceof ReleaseBotError ? err.message : String(err);
      const linked = /notadir ([A-Za-z0-9_.+/-]+)/.exec(said);
      if (linked) throw symlinkRefusal(dir, linked[1] as string);
      throw err;
    },
  );
  const known = new Map(files.map((f) => [f.path, f]));
  const seen = new Map<string, Seen>();
  for (const line of stdout.split('\n').filter((l) => l.trim() !== '')) {
    const notadir = /^notadir (.+)$/.exec(line);
    if (notadir)
      throw notadir[1] === '.'
        ? new ReleaseBotError(
            ErrorCode.DestinationFailed,
            `${dir} is not a directory on ${opts.host} (missing, or a symlink): nothing to yank there`,
          )
        : symlinkRefusal(dir, notadir[1] as string);
    const m = /^([HY]) (?:([0-9a-f]{64}) {2}|(link|notafile) )(.+)$/.exec(line);
    const file = m && known.get(m[4] as string);
    if (!m || !file)
      throw new ReleaseBotError(
        ErrorCode.DestinationFailed,
        `unexpected answer from the download host: ${JSON.stringify(clip(line, 120))} (a login script that prints something? the remote needs a POSIX sh and sha256sum)`,
      );
    const where = m[1] === 'H' ? 'here' : 'yanked';
    if (m[3])
      throw new ReleaseBotError(
        ErrorCode.DestinationConflict,
        `${dir}/${where === 'yanked' ? `${YANKED_DIR}/` : ''}${file.path} is ${m[3] === 'link' ? 'a symlink' : 'not a plain file'}: the yank never moves or follows one; check the host by hand`,
      );
    const digest = m[2] as string;
    if (file.sha256 !== undefined && digest !== file.sha256) {
      throw new ReleaseBotError(
        ErrorCode.DestinationConflict,
        `${dir}/${where === 'yanked' ? `${YANKED_DIR}/` : ''}${file.path} has sha256 ${digest.slice(0, 12)}…, not the published ${file.sha256.slice(0, 12)}…: it is not what this release put there, so it is left alone`,
      );
    }
    seen.set(file.path, { ...seen.get(file.path), [where]: digest });
  }
  return seen;
}

/** The note arrives on stdin; each file is hard-linked into yanked/ (never replacing a name there), then removed. */
function moveScript(dir: string, files: RemoteFile[]): string {
  const subdirs = [...new Set(files.map((f) => path.posix.dirname(f.path)).filter((d) => d !== '.'))].map((d) => `${YANKED_DIR}/${d}`);
  const note = `${YANKED_DIR}/.release-bot-yank-note`;
  const moves = files.map((f) => {
    const to = `${YANKED_DIR}/${f.path}`;
    return `{ ln -- ${q(f.path)} ${q(to)} 2>/dev/null || [ -f ${q(to)} ] || exit 4; } && rm -f -- ${q(`${to}.yank.json`)} && cp -- ${q(note)} ${q(`${to}.yank.json`)} && rm -f -- ${q(f.path)} || exit 4`;
  });
  return [
    `cd ${q(dir)} || exit 3`,
    noLinks(dirsOf(files)),
    `umask 022 && mkdir -p -- ${[YANKED_DIR, ...subdirs].map(q).join(' ')} || exit 3`,
    noLinks(dirsOf(files)),
    `rm -f -- ${q(note)} && cat > ${q(note)} || exit 3`,
    ...moves,
    `rm -f -- ${q(note)}`,
  ].join('; ');
}

function symlinkRefusal(dir: string, name: string): ReleaseBotError {
  return new ReleaseBotError(
    ErrorCode.DestinationConflict,
    `${dir}/${name} is a symlink or not a directory: the yank never moves files through one; nothing was moved`,
  );
}
