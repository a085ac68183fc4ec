// Part 5: Conjur round trips per release, counted at the loopback Conjur stand-in. Goal: with a warm
// token, one membership check and one batch secret fetch per release.
import { createApp } from '../dist/app/create.js';
import { botEnv, classifyConjurRequests, filesProjectYaml, requester, stageReport, startConjur, writeStagedFiles } from './lib/bot.js';
import { makeTmpDir, mean, nullStream, percentile, removeTmpDir, SMOKE } from './lib/util.js';

export const id = 'conjur-round-trips';
export const title = 'Conjur round trips per release (issue 7, item 5)';

const RELEASES = SMOKE ? 5 : 100;
const CONCURRENT = SMOKE ? 4 : 20;
const PROJECT = 'bench-files';

const fmt = (c) => `${c.authn} authn, ${c.membership} membership, ${c.secrets} secrets${c.other ? `, ${c.other} other` : ''}`;

export async function run({ log }) {
  const root = makeTmpDir('release-bot-bench-conjur-');
  const { conjur, apiKey } = await startConjur();
  const apps = [];
  try {
    const env = botEnv(root, conjur, apiKey, filesProjectYaml(root, PROJECT, 2));
    const versions = Array.from({ length: RELEASES + CONCURRENT + 1 }, (_, i) => `1.0.${i}`);
    const newApp = () => {
      const app = createApp({ env, logDestination: nullStream() });
      apps.push(app);
      return app;
    };
    const app = newApp();
    for (const [i, v] of versions.entries()) {
      writeStagedFiles(root, PROJECT, v);
      await app.core.stage(stageReport(PROJECT, v, i + 1));
    }
    const staging = classifyConjurRequests(conjur.requests);

    /** Requests the stand-in saw while `fn` ran, sorted by kind. */
    const counted = async (fn) => {
      const mark = conjur.requests.length;
      const value = await fn();
      return { value, count: classifyConjurRequests(conjur.requests.slice(mark)) };
    };

    log(`${RELEASES} sequential releases`);
    const perRelease = [];
    for (const v of versions.slice(0, RELEASES)) {
      const { value: summary, count } = await counted(() => app.core.release(PROJECT, v, requester()));
      if (summary.state !== 'published') throw new Error(`release ${v} ended ${summary.state}: ${JSON.stringify(summary.error)}`);
      perRelease.push(count);
    }
    const [cold, ...warm] = perRelease;
    const kinds = ['authn', 'membership', 'secrets', 'other'];
    const warmStats = Object.fromEntries(kinds.map((k) => [k, warm.map((c) => c[k])]));
    const warmMean = Object.fromEntries(kinds.map((k) => [k, warm.length ? mean(warmStats[k]) : NaN]));
    const warmMax = Object.fromEntries(kinds.map((k) => [k, warm.length ? percentile(warmStats[k], 100) : NaN]));

    const denied = await counted(() =>
      app.core.release(PROJECT, versions[RELEASES + CONCURRENT], requester('mallory')).then(
        () => 'published',
        (err) => err.code,
      ),
    );
    if (denied.value !== 'NOT_AUTHORIZED') throw new Error(`a non-member's release ended ${denied.value}, expected NOT_AUTHORIZED`);

    // A fresh process (cold token cache) taking many requests at once: is the token fetched once?
    log(`${CONCURRENT} concurrent releases on a fresh app (cold token)`);
    const fresh = newApp();
    const burst = await counted(() =>
      Promise.all(versions.slice(RELEASES, RELEASES + CONCURRENT).map((v) => fresh.core.release(PROJECT, v, requester()))),
    );
    const notPublished = burst.value.filter((s) => s.state !== 'published');
    if (notPublished.length > 0) throw new Error(`${notPublished.length} concurrent release(s) did not publish`);

    const r2 = (x) => (Number.isInteger(x) ? String(x) : x.toFixed(2));
    return {
      summary: [
        {
          figure: 'Conjur requests per release, warm token',
          bot: `${r2(warmMean.membership)} membership + ${r2(warmMean.secrets)} secrets (+ ${r2(warmMean.authn)} authn, ${r2(warmMean.other)} other)`,
          baseline: 'goal: 1 membership + 1 secrets',
          ratio: `${r2(warmMean.membership + warmMean.secrets + warmMean.authn + warmMean.other)} / 2 requests`,
        },
      ],
      tables: [
        {
          caption: `Requests seen by the Conjur stand-in, by kind (project with 2 directory destinations, 2 credentials; ${RELEASES} sequential releases of distinct staged versions in one process)`,
          headers: ['case', 'authn', 'membership', 'secrets (batch)', 'other', 'goal'],
          rows: [
            [`staging all ${versions.length} versions`, ...kinds.map((k) => staging[k]), '0 (staging needs no Conjur)'],
            ['first release (cold token)', cold.authn, cold.membership, cold.secrets, cold.other, '1 authn + 1 + 1'],
            [`each later release, mean (max) over ${warm.length}`, ...kinds.map((k) => `${r2(warmMean[k])} (${warmMax[k]})`), '0 + 1 + 1'],
            [
              "a non-member's request (denied)",
              denied.count.authn,
              denied.count.membership,
              denied.count.secrets,
              denied.count.other,
              '0 + 1 + 0',
            ],
            [
              `${CONCURRENT} concurrent releases, fresh process (cold token), total`,
              burst.count.authn,
              burst.count.membership,
              burst.count.secrets,
              burst.count.other,
              `1 authn + ${CONCURRENT} + ${CONCURRENT}`,
            ],
          ],
        },
      ],
      notes: [
        `Per-release counts: first ${fmt(cold)}; a warm release ${warm.length ? fmt(warm[0]) : 'n/a'}.`,
        "The membership check is one `GET /resources/{account}/webservice/{group}?permitted_roles=true&privilege=release` (the group's membership sentinel: nested groups and owners resolved by Conjur); the credentials of all destinations are one `GET /secrets?variable_ids=...`.",
      ],
    };
  } finally {
    for (const a of apps) a.close();
    await conjur.close();
    removeTmpDir(root);
  }
}
