// Part 2: Jenkins webhook throughput and latency. Signed build-ready reports (HS256 JWT bound to the
// body: verify, validation, staging check of the files, record in SQLite) against its floor, a bare
// express JSON endpoint making one durable SQLite insert per request, that floor reading and hashing the
// reported file too, and a bare express JSON endpoint, all in the same server process, interleaved.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { botEnv, GROUP, startConjur } from './lib/bot.js';
import { runLoad } from './lib/load.js';
import { buildReport } from './lib/signed-requests.js';
import {
  freePort,
  makeTmpDir,
  median,
  ms,
  ratio,
  removeTmpDir,
  repoRoot,
  SMOKE,
  startProcess,
  stopProcess,
  waitForOutput,
} from './lib/util.js';

export const id = 'jenkins-webhook';
export const title = 'Jenkins webhook throughput and latency (issue 7, item 2)';

const LEVELS = SMOKE ? [1, 4] : [1, 20];
const REQUESTS = SMOKE ? 10 : 300;
const ROUNDS = SMOKE ? 1 : 3;
const WARMUP = SMOKE ? 3 : 30;
const PROJECT = 'bench-webhook';

export async function available() {
  const main = fileURLToPath(new URL('../dist/app/serve.js', import.meta.url));
  if (
    !existsSync(fileURLToPath(new URL('../dist/handlers/jenkins/router.js', import.meta.url))) ||
    !readFileSync(main, 'utf8').includes('/webhooks/jenkins')
  ) {
    return { ok: false, reason: 'the Jenkins webhook (handlers/jenkins, mounted in app/serve.ts) is not in dist/: run `npm run build`' };
  }
  return { ok: true };
}

export async function run({ log }) {
  const root = makeTmpDir('release-bot-bench-webhook-');
  const { conjur, apiKey } = await startConjur();
  let server;
  try {
    const secret = randomBytes(32).toString('hex');
    const projectYaml = [
      `  ${PROJECT}:`,
      `    authorized_group: ${GROUP}`,
      `    jenkins_job: ${PROJECT}`,
      '    artifact: files',
      '    destinations:',
      '      - name: mirror',
      '        type: directory',
      `        path: ${root}/out/{project}/{version}`,
    ].join('\n');
    const [port, barePort, floorPort, floorHashPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const env = botEnv(root, conjur, apiKey, projectYaml, {
      PORT: String(port),
      BARE_PORT: String(barePort),
      FLOOR_PORT: String(floorPort),
      FLOOR_HASH_PORT: String(floorHashPort),
      JENKINS_JWT_SECRET: secret,
    });

    // Every bot request stages a new version: its files are in the staging directory beforehand.
    // Bodies and tokens are made before the clock starts: the bench measures the server, not the signer.
    let versionSeq = 0;
    const prepare = (n) =>
      Array.from({ length: n }, () => {
        versionSeq += 1;
        return buildReport(
          path.join(root, 'staging'),
          secret,
          PROJECT,
          `3.${Math.floor(versionSeq / 1000)}.${versionSeq % 1000}`,
          versionSeq,
        );
      });

    server = startProcess(process.execPath, [path.join(repoRoot, 'bench', 'jenkins-servers-child.js')], {
      env,
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    await waitForOutput(server, /"ready":true/);
    const botUrl = `http://127.0.0.1:${port}/webhooks/jenkins`;
    const bareUrl = `http://127.0.0.1:${barePort}/webhooks/jenkins`;
    const floorUrl = `http://127.0.0.1:${floorPort}/webhooks/jenkins`;
    const floorHashUrl = `http://127.0.0.1:${floorHashPort}/webhooks/jenkins`;
    const ask = (m) =>
      new Promise((resolve) => {
        server.child.once('message', resolve);
        server.child.send(m);
      });
    // BENCH_CPU_PROF=<dir>: the server process's CPU profile of each measured run (<name>-c<concurrency>-<round>.cpuprofile).
    const profiled = new Map();
    const load = async (name, url, concurrency, reqs, measured = true) => {
      const key = `${name}-c${concurrency}`;
      const file =
        process.env.BENCH_CPU_PROF && measured
          ? path.join(process.env.BENCH_CPU_PROF, `${key}-${profiled.set(key, (profiled.get(key) ?? 0) + 1).get(key)}.cpuprofile`)
          : undefined;
      if (file) await ask({ profile: 'start' });
      const before = (await ask('cpu')).cpuMs;
      const result = await runLoad({ url, concurrency, requests: reqs.length, build: (i) => reqs[i], expect: 202 });
      // CPU per request of the server process: what the disk's waits (the noise of a shared machine) do not change.
      result.cpuMs = ((await ask('cpu')).cpuMs - before) / reqs.length;
      if (file) await ask({ profile: 'stop', file });
      return result;
    };
    const target = {
      floor: (concurrency, reqs, measured) => load('floor', floorUrl, concurrency, reqs, measured),
      hashed: (concurrency, reqs, measured) => load('hashed', floorHashUrl, concurrency, reqs, measured),
      bot: (concurrency, reqs, measured) => load('bot', botUrl, concurrency, reqs, measured),
      bare: (concurrency, reqs, measured) => load('bare', bareUrl, concurrency, reqs, measured),
    };
    const names = ['bot', 'floor', 'hashed', 'bare'];
    for (const name of names) await target[name](1, prepare(WARMUP), false);

    const rows = [];
    const summary = [];
    for (const c of LEVELS) {
      const runs = { bot: [], floor: [], hashed: [], bare: [] };
      for (let r = 0; r < ROUNDS; r++) {
        log(`concurrency ${c}, round ${r + 1} of ${ROUNDS}`);
        for (const name of r % 2 === 0 ? names : [...names].reverse()) runs[name].push(await target[name](c, prepare(REQUESTS)));
      }
      const m = (name, key) => median(runs[name].map((x) => x[key]));
      const row = (figure, key, fmt) => [
        c,
        figure,
        fmt(m('bot', key)),
        fmt(m('floor', key)),
        ratio(m('bot', key), m('floor', key)),
        fmt(m('hashed', key)),
        ratio(m('bot', key), m('hashed', key)),
        fmt(m('bare', key)),
        ratio(m('bot', key), m('bare', key)),
      ];
      rows.push(
        row('throughput (req/s)', 'rps', (v) => v.toFixed(0)),
        row('latency p50 (ms)', 'p50', ms),
        row('latency p99 (ms)', 'p99', ms),
        row('server CPU per request (ms)', 'cpuMs', ms),
      );
      summary.push({
        figure: `webhook at concurrency ${c}: req/s (p99 ms), vs one durable SQLite insert per request`,
        bot: `${m('bot', 'rps').toFixed(0)} (${ms(m('bot', 'p99'))})`,
        baseline: `${m('floor', 'rps').toFixed(0)} (${ms(m('floor', 'p99'))})`,
        ratio: `${ratio(m('bot', 'rps'), m('floor', 'rps'))} throughput`,
      });
    }
    const healthy = (await fetchJson(`http://127.0.0.1:${port}/healthz`)).ok;
    if (!healthy) throw new Error('the bot stopped answering /healthz');

    return {
      summary,
      tables: [
        {
          caption: `${REQUESTS} signed reports per run, median of ${ROUNDS} interleaved run(s) per concurrency level; each bot request stages a new version (one 4 KiB file, digest checked, build recorded)`,
          headers: [
            'concurrent',
            'figure',
            'release-bot `POST /webhooks/jenkins`',
            'floor: express JSON + one durable insert',
            'bot / floor',
            'floor + the reported file read and its sha256 checked',
            'bot / floor+file',
            'bare express JSON endpoint',
            'bot / bare',
          ],
          rows,
        },
      ],
      notes: [
        'The four servers run in one process (the bot through serve(), as `release-bot serve` does; the floors and the bare app on their own ports); the load generator is this process, on keep-alive connections. Tokens and bodies are made before each run starts.',
        'A bot request: HS256 JWT verification (aud, exp, jti, body_sha256), payload validation, the staging check (path containment, the file copied into the quarantine and hashed, no extra file) and one SQLite commit (WAL, synchronous=FULL, so it waits for the disk) holding the jti replay record, the staged build and its audit entry.',
        'The floor (issue 14, goal: the bot at 0.8x its throughput or better) parses the JSON, inserts one row into its own SQLite database opened as the bot opens its own (WAL, synchronous=FULL: the commit waits for the disk) and answers 202: what any webhook that durably records a report costs.',
        'The floor does no hashing and touches no file. Each bot report reads and hashes one 4 KiB file (its quarantine copy): the second baseline is the floor that also reads the reported file from the staging directory (fs/promises readFile: open, fstat, read, close) and checks its sha256 before the insert, the least any webhook that verifies the staged bytes costs, without the copy into a quarantine.',
        'The bare endpoint parses the JSON and answers 202: what any webhook costs before it does anything.',
      ],
    };
  } finally {
    if (server) await stopProcess(server);
    await conjur.close();
    removeTmpDir(root);
  }
}

async function fetchJson(url) {
  const res = await fetch(url);
  return res.json();
}
