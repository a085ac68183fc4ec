import { tail } from '../../src/exec.js';
import { clip } from '../../src/validate.js';

/**
 * What a failed npm command said: its error code (stderr's code line, else the JSON on stdout) and the
 * last lines of `lines` (stderr and stdout by default), without npm's notices and its log file's path.
 */
export function npmSaid(stdout: string, stderr: string, lines = `${stderr}\n${stdout}`): { code: string; said: string } {
  let code = /npm (?:error|ERR!) code (\S+)/.exec(stderr)?.[1] ?? '';
  try {
    code ||= String((JSON.parse(stdout) as { error?: { code?: string } }).error?.code ?? '');
  } catch {
    // not JSON (publish): the code line of stderr is all there is
  }
  const said = clip(
    tail(
      lines
        .split('\n')
        .filter((l) => !/^npm notice|complete log of this run/.test(l))
        .join('\n'),
      4,
    ),
    400,
  );
  return { code, said };
}
