import { execFileSync } from 'node:child_process';

/**
 * Fails loudly, naming the Debian package, when a test needs a program that is not installed:
 * a test that needs a missing binary must never pass silently.
 */
export function requireBinary(binary: string, debianPackage: string): string {
  try {
    return execFileSync('sh', ['-c', `command -v ${binary}`], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error(
      `${binary} is not installed: run \`apt-get install -y ${debianPackage}\` (as root), or \`bash .ci/run\` which installs every test dependency`,
    );
  }
}
