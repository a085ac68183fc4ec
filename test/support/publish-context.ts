import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { Redactor } from '../../src/redact.js';
import { sha256File } from '../../src/staging/hash.js';
import type { ArtifactFile, PublishContext } from '../../src/publishing/types.js';

export interface TestContext extends PublishContext {
  /** Everything logged through ctx.log, as raw lines. */
  logLines: string[];
  progressLines: string[];
  redactor: Redactor;
}

/**
 * Builds a PublishContext for a publisher test: writes `files` into `<root>/dir`, hashes them,
 * registers every credential for redaction. Override anything with `overrides`.
 */
export async function publishContext(
  root: string,
  files: Record<string, string | Buffer>,
  overrides: Partial<PublishContext> = {},
): Promise<TestContext> {
  const dir = path.join(root, 'dir');
  const tmpDir = path.join(root, 'tmp');
  mkdirSync(dir, { recursive: true });
  mkdirSync(tmpDir, { recursive: true, mode: 0o700 });
  const artifactFiles: ArtifactFile[] = [];
  for (const [rel, content] of Object.entries(files)) {
    const full = path.join(dir, rel);
    mkdirSync(path.dirname(full), { recursive: true });
    writeFileSync(full, content);
    artifactFiles.push({ path: rel, sha256: await sha256File(full), size: Buffer.byteLength(content) });
  }
  const project = overrides.project ?? 'conjur-cli';
  const version = overrides.version ?? '4.2.0';
  const labelFile = path.join(dir, `${project}-${version}.release.json`);
  writeFileSync(labelFile, JSON.stringify({ project, version, build: { number: 123 } }));
  const redactor = new Redactor();
  for (const value of Object.values(overrides.credentials ?? {})) redactor.add(value);
  const logLines: string[] = [];
  const progressLines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logLines.push(String(chunk)); // raw: a publisher must not log a secret even before the sink redacts it
      cb();
    },
  });
  return {
    project,
    version,
    releaseId: 'rel_test',
    build: {
      job: project,
      number: 123,
      url: `https://jenkins.example/job/${project}/123/`,
      commit: '9fceb02d0ae598e95dc970b74767f19372d61af8',
    },
    artifact: { kind: 'files', files: artifactFiles },
    dir,
    labelFile,
    credentials: {},
    redact: (t) => redactor.redact(t),
    log: pino({ level: 'debug' }, sink),
    signal: new AbortController().signal,
    tmpDir,
    progress: (m) => progressLines.push(m),
    ...overrides,
    logLines,
    progressLines,
    redactor,
  };
}
