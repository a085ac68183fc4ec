import { z } from '../../src/config/zod.js';
import { ErrorCode, ReleaseBotError } from '../../src/errors.js';
import type { PublishContext } from '../../src/publishing/types.js';
import { clip } from '../../src/validate.js';

/**
 * Remote names are restricted to a charset with no shell meaning, and single-quoted on top: the
 * remote side runs our commands through the login shell, so nothing from a project file, a version
 * or an artifact name may ever be read as shell syntax there.
 */
const SAFE_SEGMENT = /^[A-Za-z0-9_+][A-Za-z0-9_.+-]*$/;
const HOSTNAME =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|[0-9A-Fa-f]*:[0-9A-Fa-f:.]+)$/;
const KNOWN_HOSTS_LINE = /^(?:@(?:cert-authority|revoked) )?[^\s#]\S* (?:ssh|ecdsa|sk)-[A-Za-z0-9@.-]+ [A-Za-z0-9+/]+={0,2}(?: .*)?$/;

/** The options of an ssh destination (the download host, its key, the remote directory, scp or rsync). */
export const sshOptions = z.lazy(() =>
  z
    .object({
      host: z.string().regex(HOSTNAME, 'a host name or an IP address'),
      port: z.number().int().min(1).max(65535).default(22),
      user: z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}$/, 'a user name (letters, digits, "_", "." and "-")'),
      /** Absolute remote directory; {project} and {version} are replaced. */
      path: z.string().refine((p) => isSafeRemoteDir(expand(p, 'project', '1.0.0')), {
        message:
          'an absolute path of letters, digits, "_", ".", "+" and "-" segments (no "..", no segment starting with "." or "-"), with {project} and {version}',
      }),
      /**
       * The host's public key line(s), as `ssh-keyscan` prints them (`[host]:port` for a port other than 22).
       * Required: host key checking is never turned off, and no other known_hosts file is consulted.
       */
      known_hosts: z
        .string({
          error:
            "is required: the download host's key line(s), as `ssh-keyscan -p <port> <host>` prints them (host key checking is never turned off)",
        })
        .refine((text) => knownHostsLines(text).length > 0 && knownHostsLines(text).every((l) => KNOWN_HOSTS_LINE.test(l)), {
          message: 'one or more known_hosts lines such as "[downloads.example.com]:2222 ssh-ed25519 AAAA..." (see ssh-keyscan)',
        }),
      method: z.enum(['scp', 'rsync']).default('scp'),
    })
    .strict(),
);
export type SshOptions = z.infer<typeof sshOptions>;
export function knownHostsLines(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

function expand(template: string, project: string, version: string): string {
  return template.replaceAll('{project}', project).replaceAll('{version}', version).replace(/\/+$/, '');
}

function isSafeRemoteDir(dir: string): boolean {
  return (
    dir.startsWith('/') &&
    dir
      .split('/')
      .slice(1)
      .every((s) => SAFE_SEGMENT.test(s))
  );
}

export function remoteDir(ctx: Pick<PublishContext, 'project' | 'version'>, template: string): string {
  const dir = expand(template, ctx.project, ctx.version);
  if (!isSafeRemoteDir(dir)) {
    throw new ReleaseBotError(
      ErrorCode.BadInput,
      `remote path ${JSON.stringify(clip(dir))} is not safe: use an absolute path of letters, digits, "_", ".", "+" and "-", no "..", no empty segment, no segment starting with "." or "-"`,
    );
  }
  return dir;
}

export function assertSafeName(name: string): string {
  if (!name.split('/').every((s) => SAFE_SEGMENT.test(s))) {
    throw new ReleaseBotError(
      ErrorCode.BadInput,
      `file ${JSON.stringify(clip(name))} cannot be uploaded over ssh: names are limited to letters, digits, "_", ".", "+" and "-" (no leading "." or "-")`,
    );
  }
  return name;
}

/** Single quotes around a name already limited to SAFE_SEGMENT characters: belt and braces. */
export const q = (s: string) => `'${s}'`;
