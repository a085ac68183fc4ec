// Part 4: release overhead, end to end as in production: a signed Slack `/release` into a running
// `release-bot serve` (the real CLI), timed until the final audit summary lands in the channel (the
// chat.update the loopback Slack stand-in records). One docker destination between loopback
// registries against `skopeo copy` of the same kind of image alone; three destinations at once
// against the slowest of them released alone. The destination registries ask for basic auth: the
// credentials come from Conjur in the release's one batch fetch, as they would for a real registry.
import { randomBytes } from 'node:crypto';
import { cpus } from 'node:os';
import path from 'node:path';
import { botEnv, GROUP, startConjur } from './lib/bot.js';
import { buildImage, skopeoCopy } from './lib/oci-image.js';
import { startRegistry } from './lib/registry.js';
import { imageReport, slashCommand } from './lib/signed-requests.js';
import {
  devDist,
  freePort,
  makeTmpDir,
  median,
  mib,
  ms,
  performance,
  ratio,
  removeTmpDir,
  repoRoot,
  runProcess,
  SMOKE,
  startProcess,
  stopProcess,
  waitForHttp,
} from './lib/util.js';

export const id = 'release-overhead';
export const title = 'Release overhead (issue 7, item 4)';

const ROUNDS = SMOKE ? 1 : 5;
const IMAGE = SMOKE ? { layers: 1, layerBytes: 256 * 1024 } : { layers: 4, layerBytes: 16 * 2 ** 20 };
const DESTS = ['b', 'c', 'd'];
const REGISTRY_USER = 'release-bot';
const CREDS = { REGISTRY_USERNAME: 'release/bench/registry-user', REGISTRY_PASSWORD: 'release/bench/registry-password' };
/**
 * BENCH_BEFORE_BOT=<another build's bin/release-bot.js>: a second `serve` from that build (a copy of an
 * earlier commit, built) runs the one-destination release too, interleaved with this build's in the same
 * rounds, for a before/after in one run.
 */
const BEFORE_BOT = process.env.BENCH_BEFORE_BOT;

export async function available() {
  for (const bin of ['skopeo', 'docker-registry', 'htpasswd']) {
    try {
      await runProcess('sh', ['-c', `command -v ${bin}`]);
    } catch {
      const pkg = bin === 'htpasswd' ? 'apache2-utils' : bin;
      return { ok: false, reason: `${bin} is not installed (Debian package ${pkg}; scripts/install-test-deps.sh installs it)` };
    }
  }
  return { ok: true };
}

function dockerProject(name, staging, destinations) {
  return [
    `  ${name}:`,
    `    authorized_group: ${GROUP}`,
    `    jenkins_job: ${name}`,
    '    artifact: docker',
    `    image: { repository: ${staging.host}/bench/staged, tls_verify: false }`,
    '    destinations:',
    ...destinations.flatMap(([dest, registry]) => [
      `      - name: registry-${dest}`,
      '        type: docker',
      `        repository: ${registry.host}/bench/${name}`,
      '        tls_verify: false',
      "        tags: ['{version}']",
      '        retries: 0',
      `        credentials: { REGISTRY_USERNAME: ${CREDS.REGISTRY_USERNAME}, REGISTRY_PASSWORD: ${CREDS.REGISTRY_PASSWORD} }`,
    ]),
  ].join('\n');
}

export async function run({ log }) {
  const root = makeTmpDir('release-bot-bench-overhead-');
  const registries = [];
  const password = randomBytes(18).toString('base64url');
  const { conjur, apiKey } = await startConjur({ [CREDS.REGISTRY_USERNAME]: REGISTRY_USER, [CREDS.REGISTRY_PASSWORD]: password });
  const { startSlackStandIn } = await import(devDist('slack-stand-in.js'));
  const slack = await startSlackStandIn({ users: [{ id: 'U0ALICE', name: 'alice' }] });
  let server;
  let beforeServer;
  try {
    const staging = await startRegistry();
    registries.push(staging);
    const dest = {};
    for (const d of DESTS) registries.push((dest[d] = await startRegistry({ auth: { username: REGISTRY_USER, password } })));
    const projects = [
      dockerProject('one', staging, [['b', dest.b]]),
      dockerProject(
        'three',
        staging,
        DESTS.map((d) => [d, dest[d]]),
      ),
      ...DESTS.map((d) => dockerProject(`alone-${d}`, staging, [[d, dest[d]]])),
    ].join('\n');
    const signingSecret = randomBytes(16).toString('hex');
    const jwtSecret = randomBytes(32).toString('hex');
    const port = await freePort();
    const env = botEnv(root, conjur, apiKey, projects, {
      PORT: String(port),
      SLACK_SIGNING_SECRET: signingSecret,
      SLACK_BOT_TOKEN: `xoxb-bench-${randomBytes(8).toString('hex')}`,
      SLACK_API_URL: slack.apiUrl,
      JENKINS_JWT_SECRET: jwtSecret,
    });
    server = startProcess(process.execPath, [path.join(repoRoot, 'bin', 'release-bot.js'), 'serve'], { env, cwd: repoRoot });
    const base = `http://127.0.0.1:${port}`;
    await waitForHttp(`${base}/healthz`, server);
    let beforeBase;
    if (BEFORE_BOT) {
      const beforePort = await freePort();
      const beforeRoot = path.join(root, 'before');
      const beforeEnv = botEnv(beforeRoot, conjur, apiKey, dockerProject('one', staging, [['b', dest.b]]), {
        ...env,
        PORT: String(beforePort),
        RELEASE_BOT_CONFIG: path.join(beforeRoot, 'releases.yml'),
        RELEASE_BOT_DATA_DIR: path.join(beforeRoot, 'data'),
      });
      beforeServer = startProcess(process.execPath, [BEFORE_BOT, 'serve'], { env: beforeEnv, cwd: path.dirname(path.dirname(BEFORE_BOT)) });
      beforeBase = `http://127.0.0.1:${beforePort}`;
      await waitForHttp(`${beforeBase}/healthz`, beforeServer);
    }

    let n = 0;
    /** A fresh image (new random layers, so no registry holds its blobs) pushed to the staging registry. */
    const freshImage = async () => {
      n += 1;
      const img = buildImage(path.join(root, `image-${n}`), IMAGE);
      const pushed = await skopeoCopy(
        `oci:${img.layout}:image`,
        `docker://${staging.host}/bench/staged:v${n}`,
        path.join(root, `home-push-${n}`),
      );
      return { ref: `${staging.host}/bench/staged:v${n}`, digest: pushed.digest, bytes: img.bytes };
    };
    /** Stages a fresh image by a signed Jenkins report, then times `/release` from the command to the summary. */
    const botRelease = async (project, at = base) => {
      const image = await freshImage();
      const version = `1.0.${n}`;
      const report = imageReport(jwtSecret, project, version, n, image);
      const staged = await fetch(`${at}/webhooks/jenkins`, { method: 'POST', ...report });
      if (staged.status !== 202) throw new Error(`staging ${project} ${version} answered ${staged.status}: ${await staged.text()}`);
      const command = slashCommand(signingSecret, { text: `${project} ${version}`, responseUrl: slack.responseUrl(`r${n}`) });
      const started = performance.now();
      const ack = await fetch(`${at}/slack/events`, { method: 'POST', ...command });
      await ack.arrayBuffer();
      const post = await slack.waitFor(
        (c) => c.method === 'chat.postMessage' && String(c.body.text ?? '').startsWith(`Releasing ${project} ${version} `),
        120_000,
      );
      const final = await slack.waitFor(
        (c) => c.method === 'chat.update' && c.body.ts === post.response.ts && !String(c.body.text ?? '').startsWith('Releasing '),
        600_000,
      );
      const wallMs = performance.now() - started;
      const text = String(final.body.text);
      if (!text.startsWith(`Released ${project} ${version}`)) throw new Error(`${project} ${version} did not publish: ${text}`);
      // The summary's own per-destination durations ("registry-b [docker]: published ... in 1.2 s").
      const destinations = Object.fromEntries(
        [...text.matchAll(/^ {2}- (registry-\w) \[docker\]: .* in ([\d.]+) (ms|s)/gm)].map((m) => [
          m[1],
          Number(m[2]) * (m[3] === 's' ? 1000 : 1),
        ]),
      );
      return { wallMs, destinations };
    };
    const skopeoAlone = async () => {
      const image = await freshImage();
      const r = await skopeoCopy(
        `docker://${image.ref.replace(/:v\d+$/, '')}@${image.digest}`,
        `docker://${dest.b.host}/bench/skopeo-alone:v${n}`,
        path.join(root, `home-copy-${n}`),
        { destCreds: `${REGISTRY_USER}:${password}` },
      );
      if (r.digest !== image.digest) throw new Error(`skopeo pushed ${r.digest}, staged ${image.digest}`);
      return { wallMs: r.wallMs };
    };

    /** The machine's own answer to "three copies at once": three skopeo copies of one image, started together. */
    const skopeoThree = async () => {
      const image = await freshImage();
      const started = performance.now();
      await Promise.all(
        DESTS.map(async (d) => {
          const r = await skopeoCopy(
            `docker://${image.ref.replace(/:v\d+$/, '')}@${image.digest}`,
            `docker://${dest[d].host}/bench/skopeo-three:v${n}`,
            path.join(root, `home-copy-${n}-${d}`),
            { destCreds: `${REGISTRY_USER}:${password}` },
          );
          if (r.digest !== image.digest) throw new Error(`skopeo pushed ${r.digest}, staged ${image.digest}`);
        }),
      );
      return { wallMs: performance.now() - started };
    };

    const variants = [
      { name: 'one', run: () => botRelease('one') },
      ...(beforeBase ? [{ name: 'one-before', run: () => botRelease('one', beforeBase) }] : []),
      { name: 'skopeo', run: skopeoAlone },
      { name: 'three', run: () => botRelease('three') },
      { name: 'skopeo-three', run: skopeoThree },
      ...DESTS.map((d) => ({ name: `alone-${d}`, run: () => botRelease(`alone-${d}`) })),
    ];
    const results = Object.fromEntries(variants.map((v) => [v.name, []]));
    for (let r = 0; r < ROUNDS; r++) {
      log(`round ${r + 1} of ${ROUNDS}`);
      // Rotate the order each round so no variant always runs first (or right after the heaviest).
      const order = variants.map((_, i) => variants[(i + r) % variants.length]);
      for (const v of order) results[v.name].push(await v.run());
    }

    const wall = (name) => median(results[name].map((x) => x.wallMs));
    const destMs = (name, d) => median(results[name].map((x) => x.destinations[`registry-${d}`]));
    const slowestAlone = Math.max(...DESTS.map((d) => wall(`alone-${d}`)));
    const slowestName = DESTS.find((d) => wall(`alone-${d}`) === slowestAlone);
    const [skopeoVersion] = (await runProcess('skopeo', ['--version'])).stdout.split('\n');
    const size = `${IMAGE.layers} layer(s) × ${mib(IMAGE.layerBytes)} MiB`;

    return {
      summary: [
        {
          figure: `docker release (${size}), \`/release\` to final summary, vs \`skopeo copy\` alone, ms`,
          bot: ms(wall('one')),
          baseline: ms(wall('skopeo')),
          ratio: ratio(wall('one'), wall('skopeo')),
        },
        {
          figure: 'release to 3 registries vs slowest single-registry release, ms',
          bot: ms(wall('three')),
          baseline: ms(slowestAlone),
          ratio: ratio(wall('three'), slowestAlone),
        },
        {
          figure: 'release to 3 registries vs 3 concurrent `skopeo copy`, ms',
          bot: ms(wall('three')),
          baseline: ms(wall('skopeo-three')),
          ratio: ratio(wall('three'), wall('skopeo-three')),
        },
      ],
      tables: [
        {
          caption: `Wall time in ms, median of ${ROUNDS} round(s) (order rotated each round); every run copies a fresh image (${size} of random data, new blobs) from the loopback staging registry`,
          headers: ['what', 'release-bot', 'baseline', 'bot / baseline'],
          rows: [
            [
              'one docker destination: signed `/release` → final summary in the channel, vs `skopeo copy` alone',
              ms(wall('one')),
              ms(wall('skopeo')),
              ratio(wall('one'), wall('skopeo')),
            ],
            [
              '  of which the docker destination itself (pre-check, copy, read-back), as the summary reports it',
              ms(destMs('one', 'b')),
              ms(wall('skopeo')),
              ratio(destMs('one', 'b'), wall('skopeo')),
            ],
            ...(beforeBase
              ? [
                  [
                    'the same release from the build given in BENCH_BEFORE_BOT (before), vs `skopeo copy` alone',
                    ms(wall('one-before')),
                    ms(wall('skopeo')),
                    ratio(wall('one-before'), wall('skopeo')),
                  ],
                  [
                    '  of which the docker destination itself (before)',
                    ms(destMs('one-before', 'b')),
                    ms(wall('skopeo')),
                    ratio(destMs('one-before', 'b'), wall('skopeo')),
                  ],
                ]
              : []),
            [
              `three docker destinations (3 registries, concurrency 4) vs the slowest alone (registry-${slowestName})`,
              ms(wall('three')),
              ms(slowestAlone),
              ratio(wall('three'), slowestAlone),
            ],
            [
              'three docker destinations vs three `skopeo copy` of one image started together',
              ms(wall('three')),
              ms(wall('skopeo-three')),
              ratio(wall('three'), wall('skopeo-three')),
            ],
            ...DESTS.map((d) => [
              `  registry-${d}: inside the three-destination release vs its release alone`,
              ms(destMs('three', d)),
              ms(wall(`alone-${d}`)),
              ratio(destMs('three', d), wall(`alone-${d}`)),
            ]),
          ],
        },
      ],
      notes: [
        `${skopeoVersion}; the registries are docker-registry (distribution) instances on 127.0.0.1, plain HTTP, each with its own storage; the destinations ask for basic auth (htpasswd, bcrypt), the staging registry does not. The bot is \`release-bot serve\` as a separate process, with the Conjur stand-in and the loopback Slack stand-in.`,
        'The clock starts when the signed `/release` is sent and stops when the stand-in records the chat.update that turns the release message into the audit summary: Slack ack, Conjur membership check and batch secret fetch (the registry credentials), staged digest re-check, every destination, the audit entry and the chat calls are all inside it. Staging (the signed Jenkins report) happens before the clock starts.',
        'A docker release runs skopeo once, for the copy: the staged digest is re-checked with one registry HEAD of the staging registry, and the destination tags are checked before the copy (never overwrite) and read back after it with one HEAD each, no process (test/release/docker-release-requests.test.ts counts them). The baseline is the copy alone, with the same credentials in an auth file.',
        `The three-destination release copies one image to three registries at once; the four registries, the skopeo processes and the bot all share this machine's ${cpus().length} cores.`,
      ],
    };
  } finally {
    if (server) await stopProcess(server);
    if (beforeServer) await stopProcess(beforeServer);
    for (const r of registries) await r.stop();
    await slack.close();
    await conjur.close();
    removeTmpDir(root);
  }
}
