import { readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../../support/cli.js';

/** Gson's default HTML-safe escaping, as the Notification plugin's Format.JSON writes strings. */
const gsonEscape = (json: string) => json.replace(/[<>&='\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

const LINES = [
  '[Pipeline] sh',
  "+ bundle exec rspec --format progress spec/ VERSION='{version}'",
  '[2026-03-01T12:00:{n}.123Z] .....................*........ <rspec> "quoted" & done \\ C:\\path\\to\\file',
  '\tat org.jenkinsci.plugins.workflow.cps.CpsThread.runNextChunk(CpsThread.java:187)',
  'Fetching gem metadata from https://rubygems.org/..........',
];

/**
 * A Notification plugin report (test/fixtures/jenkins/notification-completed.json, see its README) for
 * `version`, its `log` grown past `logBytes` with console lines of the same shape, serialized as Gson does.
 */
export function notificationWithLog(version: string, logBytes: number, build: Record<string, unknown> = {}): Buffer {
  const doc = JSON.parse(readFileSync(path.join(repoRoot, 'test/fixtures/jenkins/notification-completed.json'), 'utf8')) as {
    build: Record<string, unknown>;
  };
  const lines: string[] = [String(doc.build.log)];
  let size = lines[0]?.length ?? 0;
  for (let n = 0; size < logBytes; n += 1) {
    const line = `${(LINES[n % LINES.length] as string).replace('{version}', version).replace('{n}', String(n % 60).padStart(2, '0'))}\n`;
    lines.push(line);
    size += line.length;
  }
  doc.build = {
    ...doc.build,
    parameters: { VERSION: version },
    log: lines.join(''),
    artifacts: {
      [`conjur-cli-${version}.gem`]: { archive: `https://jenkins.example/job/conjur-cli/123/artifact/conjur-cli-${version}.gem` },
    },
    ...build,
  };
  return Buffer.from(gsonEscape(JSON.stringify(doc)), 'utf8');
}
