// Part 4: release overhead. End-to-end release (core.release: command to summary) of a docker image
// between loopback registries against `skopeo copy` of the same kind of image alone; and a release
// to three registries at once against the slowest of those destinations released alone.
import { cpus } from 'node:os';
import path from 'node:path';
import { createApp } from '../dist/src/main.js';
import { botEnv, GROUP, requester, startConjur } from './lib/bot.js';
import { buildImage, skopeoCopy } from './lib/oci-image.js';
import { startRegistry } from './lib/registry.js';
import { makeTmpDir, median, mib, ms, nullStream, performance, ratio, removeTmpDir, runProcess, SMOKE } from './lib/util.js';

export const id = 'release-overhead';
export const title = 'Release overhead (issue 7, item 4)';

const ROUNDS = SMOKE ? 1 : 5;
const IMAGE = SMOKE ? { layers: 1, layerBytes: 256 * 1024 } : { layers: 4, layerBytes: 16 * 2 ** 20 };
const DESTS = ['b', 'c', 'd'];

export async function available() {
  for (const bin of ['skopeo', 'docker-registry']) {
    try {
      await runProcess('sh', ['-c', `command -v ${bin}`]);
    } catch {
      return { ok: false, reason: `${bin} is not installed (Debian package ${bin}; scripts/install-test-deps.sh installs it)` };
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
    ...destinations.flatMap(([dest, registry]) => [`      - name: registry-${dest}`, '        type: docker', `        repository: ${registry.host}/bench/${name}`, '        tls_verify: false', "        tags: ['{version}']", '        retries: 0']),
  ].join('\n');
}

export async function run({ log }) {
  const root = makeTmpDir('release-bot-bench-overhead-');
  const registries = [];
  const { conjur, apiKey } = await startConjur();
  let app;
  try {
    const staging = await startRegistry();
    registries.push(staging);
    const dest = {};
    for (const d of DESTS) registries.push((dest[d] = await startRegistry()));
    const projects = [
      dockerProject('one', staging, [['b', dest.b]]),
      dockerProject('three', staging, DESTS.map((d) => [d, dest[d]])),
      ...DESTS.map((d) => dockerProject(`alone-${d}`, staging, [[d, dest[d]]])),
    ].join('\n');
    app = createApp({ env: botEnv(root, conjur, apiKey, projects), logDestination: nullStream() });

    let n = 0;
    /** A fresh image (new random layers, so no registry holds its blobs) pushed to the staging registry. */
    const freshImage = async () => {
      n += 1;
      const img = buildImage(path.join(root, `image-${n}`), IMAGE);
      const pushed = await skopeoCopy(`oci:${img.layout}:image`, `docker://${staging.host}/bench/staged:v${n}`, path.join(root, `home-push-${n}`));
      return { ref: `${staging.host}/bench/staged:v${n}`, digest: pushed.digest, bytes: img.bytes };
    };
    /** Stages a fresh image for `project` and times core.release from the call to the summary. */
    const botRelease = async (project) => {
      const image = await freshImage();
      const version = `1.0.${n}`;
      await app.core.stage({ project, version, image, build: { number: n }, reportedBy: 'bench', actor: { via: 'bench' } });
      const started = performance.now();
      const summary = await app.core.release(project, version, requester());
      const wallMs = performance.now() - started;
      if (summary.state !== 'published') throw new Error(`${project} ${version} ended ${summary.state}: ${JSON.stringify(summary.error ?? summary.destinations.map((d) => d.error))}`);
      return { wallMs, destinations: Object.fromEntries(summary.destinations.map((d) => [d.name, d.durationMs])) };
    };
    const skopeoAlone = async () => {
      const image = await freshImage();
      const r = await skopeoCopy(`docker://${image.ref.replace(/:v\d+$/, '')}@${image.digest}`, `docker://${dest.b.host}/bench/skopeo-alone:v${n}`, path.join(root, `home-copy-${n}`));
      if (r.digest !== image.digest) throw new Error(`skopeo pushed ${r.digest}, staged ${image.digest}`);
      return { wallMs: r.wallMs };
    };

    /** The machine's own answer to "three copies at once": three skopeo copies of one image, started together. */
    const skopeoThree = async () => {
      const image = await freshImage();
      const started = performance.now();
      await Promise.all(
        DESTS.map(async (d) => {
          const r = await skopeoCopy(`docker://${image.ref.replace(/:v\d+$/, '')}@${image.digest}`, `docker://${dest[d].host}/bench/skopeo-three:v${n}`, path.join(root, `home-copy-${n}-${d}`));
          if (r.digest !== image.digest) throw new Error(`skopeo pushed ${r.digest}, staged ${image.digest}`);
        }),
      );
      return { wallMs: performance.now() - started };
    };

    const variants = [
      { name: 'one', run: () => botRelease('one') },
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
        { figure: `docker release (${size}) vs \`skopeo copy\` alone, ms`, bot: ms(wall('one')), baseline: ms(wall('skopeo')), ratio: ratio(wall('one'), wall('skopeo')) },
        { figure: 'release to 3 registries vs slowest single-registry release, ms', bot: ms(wall('three')), baseline: ms(slowestAlone), ratio: ratio(wall('three'), slowestAlone) },
        { figure: 'release to 3 registries vs 3 concurrent `skopeo copy`, ms', bot: ms(wall('three')), baseline: ms(wall('skopeo-three')), ratio: ratio(wall('three'), wall('skopeo-three')) },
      ],
      tables: [
        {
          caption: `Wall time in ms, median of ${ROUNDS} round(s) (order rotated each round); every run copies a fresh image (${size} of random data, new blobs) from the loopback staging registry`,
          headers: ['what', 'release-bot', 'baseline', 'bot / baseline'],
          rows: [
            ['one docker destination: `core.release` (command to summary) vs `skopeo copy` alone', ms(wall('one')), ms(wall('skopeo')), ratio(wall('one'), wall('skopeo'))],
            ['  of which the docker destination itself (pre-check, copy, read-back)', ms(destMs('one', 'b')), ms(wall('skopeo')), ratio(destMs('one', 'b'), wall('skopeo'))],
            [`three docker destinations (3 registries, concurrency 4) vs the slowest alone (registry-${slowestName})`, ms(wall('three')), ms(slowestAlone), ratio(wall('three'), slowestAlone)],
            ['three docker destinations vs three `skopeo copy` of one image started together', ms(wall('three')), ms(wall('skopeo-three')), ratio(wall('three'), wall('skopeo-three'))],
            ...DESTS.map((d) => [`  registry-${d}: inside the three-destination release vs its release alone`, ms(destMs('three', d)), ms(wall(`alone-${d}`)), ratio(destMs('three', d), wall(`alone-${d}`))]),
          ],
        },
      ],
      notes: [
        `${skopeoVersion}; the registries are docker-registry (distribution) instances on 127.0.0.1, plain HTTP, each with its own storage; the bot runs in this process with the Conjur stand-in.`,
        'A docker release runs skopeo four times: inspect at release (the staged digest is re-checked), inspect of the destination tag before copying (never overwrite), the copy, and inspect again (read-back). The baseline is the copy alone.',
        `The three-destination release copies one image to three registries at once; the four registries, the skopeo processes and the bot all share this machine's ${cpus().length} cores.`,
        'No registry credentials are used (anonymous loopback registries), so no Conjur secret fetch happens in these releases; see the Conjur section for that.',
      ],
    };
  } finally {
    app?.close();
    for (const r of registries) await r.stop();
    await conjur.close();
    removeTmpDir(root);
  }
}
