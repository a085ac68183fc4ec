// Requests as Slack and Jenkins send them, signed for real: a `/release` slash command (Slack's
// v0 HMAC signature) and a build-ready report (HS256 JWT bound to the body, as `release-bot notify` signs).
import { createHash, createHmac, randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { URLSearchParams } from 'node:url';
import jwt from 'jsonwebtoken';

/** A signed slash command, timestamped now. */
export function slashCommand(signingSecret, { text, userId = 'U0ALICE', responseUrl }) {
  const body = new URLSearchParams({
    command: '/release',
    text,
    user_id: userId,
    user_name: 'alice',
    // The Slack stand-in's workspace: the bot refuses requests from any other (identity pinned to its home).
    team_id: 'T0DEVTEAM',
    team_domain: 'bench',
    channel_id: 'C0BENCH',
    channel_name: 'releases',
    api_app_id: 'A0BENCH',
    response_url: responseUrl,
    trigger_id: `${Date.now()}.${randomBytes(4).toString('hex')}`,
  }).toString();
  const ts = Math.floor(Date.now() / 1000);
  return {
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': String(ts),
      'x-slack-signature': `v0=${createHmac('sha256', signingSecret).update(`v0:${ts}:${body}`).digest('hex')}`,
    },
    body,
  };
}

/**
 * Writes a 4 KiB artifact into <staging>/<project>/<version>/ and returns the signed report that
 * stages it (the job is the project's jenkins_job, named like the project).
 */
export function buildReport(stagingDir, secret, project, version, number) {
  const dir = path.join(stagingDir, project, version);
  mkdirSync(dir, { recursive: true });
  const file = `${project}-${version}.tar.gz`;
  const bytes = randomBytes(4096);
  writeFileSync(path.join(dir, file), bytes);
  const body = JSON.stringify({
    project,
    version,
    build: { job: project, number, url: `https://jenkins.example/job/${project}/${number}/`, commit: randomBytes(20).toString('hex') },
    artifacts: [{ path: file, sha256: createHash('sha256').update(bytes).digest('hex') }],
  });
  return { headers: signedReportHeaders(secret, project, body), body };
}

/** The signed report that stages a docker image (`image: {ref, digest}`), as `release-bot notify --image` sends it. */
export function imageReport(secret, project, version, number, image) {
  const body = JSON.stringify({
    project,
    version,
    build: { job: project, number, url: `https://jenkins.example/job/${project}/${number}/`, commit: randomBytes(20).toString('hex') },
    image: { ref: image.ref, digest: image.digest },
  });
  return { headers: signedReportHeaders(secret, project, body), body };
}

function signedReportHeaders(secret, job, body) {
  const token = jwt.sign(
    { sub: job, aud: 'release-bot', jti: randomUUID(), body_sha256: createHash('sha256').update(body).digest('hex') },
    secret,
    { algorithm: 'HS256', expiresIn: 600 },
  );
  return { 'content-type': 'application/json', authorization: `Bearer ${token}` };
}
