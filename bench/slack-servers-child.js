// Server process of the Slack ack bench. In one process: the bot (serve(), as `release-bot serve`
// runs it, with its Slack front end on POST /slack/events) on $PORT, and a bare Bolt app (an
// ExpressReceiver whose /release listener only acks) on $BARE_PORT. Before it says ready it stages
// $BENCH_STAGE versions of $BENCH_PROJECT, so every /release the bench sends starts a real release.
// SIGTERM prints the release states from the store and stops both.
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Session } from 'node:inspector/promises';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import bolt from '@slack/bolt';
import { serve } from '../dist/app/serve.js';
import { nullStream } from './lib/util.js';

const { App, ExpressReceiver, LogLevel } = bolt;
const project = process.env.BENCH_PROJECT;

const running = await serve({ logDestination: nullStream() });
const staging = running.app.config.stagingDir;
for (let i = 0; i < Number(process.env.BENCH_STAGE); i++) {
  const version = `5.${Math.floor(i / 1000)}.${i % 1000}`;
  const dir = path.join(staging, project, version);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, `${project}-${version}.tar.gz`), randomBytes(4096));
  await running.app.core.stage({ project, version, build: { number: i + 1 }, reportedBy: 'bench', actor: { via: 'bench' } });
}

const receiver = new ExpressReceiver({
  signingSecret: process.env.SLACK_SIGNING_SECRET,
  endpoints: '/slack/events',
  processBeforeResponse: false,
  logLevel: LogLevel.ERROR,
});
const bare = new App({ receiver, authorize: async () => ({ botToken: process.env.SLACK_BOT_TOKEN }), logLevel: LogLevel.ERROR });
bare.command('/release', async ({ ack }) => {
  await ack();
});
const bareServer = await new Promise((resolve, reject) => {
  const s = receiver.app.listen(Number(process.env.BARE_PORT), '127.0.0.1', () => resolve(s));
  s.once('error', reject);
});
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);

process.once('SIGTERM', async () => {
  bareServer.close();
  bareServer.closeAllConnections();
  await running.stop();
  process.exit(0);
});
// How long the event loop was blocked while requests waited: what delays an ack in a busy process.
const delay = monitorEventLoopDelay({ resolution: 5 });
delay.enable();
// BENCH_CPU_PROF: the serving thread's CPU profile of a burst, between 'profile-start' and 'profile-stop' (written to the path given).
const inspector = new Session();
process.on('message', async (m) => {
  if (m?.profile === 'start') {
    inspector.connect();
    await inspector.post('Profiler.enable');
    await inspector.post('Profiler.setSamplingInterval', { interval: 500 });
    await inspector.post('Profiler.start');
    process.send({});
  } else if (m?.profile === 'stop') {
    const { profile } = await inspector.post('Profiler.stop');
    inspector.disconnect();
    writeFileSync(m.file, JSON.stringify(profile));
    process.send({});
  } else if (m === 'delay-reset') {
    delay.reset();
    process.send({});
  } else if (m === 'delay') {
    process.send({ p99: delay.percentile(99) / 1e6, max: delay.max / 1e6 });
  } else if (m === 'states') {
    const states = running.app.db.prepare('SELECT state, count(*) AS n FROM releases GROUP BY state').all();
    process.send({ states: Object.fromEntries(states.map((s) => [s.state, s.n])), inFlight: running.app.core.inFlightCount });
  }
});
