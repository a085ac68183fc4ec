// Server process of the webhook bench: the bot (serve(), as `release-bot serve` runs it, with its
// Jenkins webhook) on $PORT and, in the same process, a bare express JSON endpoint on $BARE_PORT and
// the webhook's floor on $FLOOR_PORT: the same JSON endpoint making one durable SQLite insert per
// request (better-sqlite3, WAL, synchronous=FULL, as src/store/db.ts opens the bot's database), and on
// $FLOOR_HASH_PORT the floor that also reads the reported file from the staging directory and checks its
// sha256 (what any webhook that verifies the staged bytes must do, without the bot's quarantine copy).
// Prints one JSON line when all listen; SIGTERM stops them. BENCH_CPU_PROF (bench/jenkins-webhook.js):
// the process's CPU profile between the messages {profile: 'start'} and {profile: 'stop', file}; 'cpu':
// the CPU time it has used.
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import path from 'node:path';
import Database from 'better-sqlite3';
import express from 'express';
import { serve } from '../dist/app/serve.js';
import { nullStream } from './lib/util.js';

const running = await serve({ logDestination: nullStream() });
const bare = express();
bare.post('/webhooks/jenkins', express.json({ limit: '1mb' }), (req, res) => {
  res.status(202).json({ status: 'staged', project: req.body.project, version: req.body.version });
});
const floorDb = new Database(path.join(process.env.RELEASE_BOT_DATA_DIR, 'floor.sqlite'));
floorDb.pragma('journal_mode = WAL');
floorDb.pragma('synchronous = FULL');
floorDb.exec('CREATE TABLE IF NOT EXISTS reports (id INTEGER PRIMARY KEY, project TEXT, version TEXT, body TEXT, at TEXT)');
const insert = floorDb.prepare('INSERT INTO reports (project, version, body, at) VALUES (?, ?, ?, ?)');
const floor = express();
floor.post('/webhooks/jenkins', express.json({ limit: '1mb' }), (req, res) => {
  insert.run(String(req.body.project), String(req.body.version), JSON.stringify(req.body), new Date().toISOString());
  res.status(202).json({ status: 'staged', project: req.body.project, version: req.body.version });
});
const staging = path.join(process.env.RELEASE_BOT_DATA_DIR, '..', 'staging');
const floorHash = express();
floorHash.post('/webhooks/jenkins', express.json({ limit: '1mb' }), (req, res, next) => {
  const { project, version, artifacts } = req.body;
  const [artifact] = artifacts;
  readFile(path.join(staging, path.basename(project), path.basename(version), path.basename(artifact.path))).then((bytes) => {
    if (createHash('sha256').update(bytes).digest('hex') !== artifact.sha256) return res.status(422).json({ status: 'error' });
    insert.run(String(project), String(version), JSON.stringify(req.body), new Date().toISOString());
    res.status(202).json({ status: 'staged', project, version });
  }, next);
});
const listenOn = (app, port) =>
  new Promise((resolve, reject) => {
    const s = app.listen(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
const bareServer = await listenOn(bare, Number(process.env.BARE_PORT));
const floorServer = await listenOn(floor, Number(process.env.FLOOR_PORT));
const floorHashServer = await listenOn(floorHash, Number(process.env.FLOOR_HASH_PORT));
process.stdout.write(`${JSON.stringify({ ready: true, pid: process.pid })}\n`);
process.once('SIGTERM', async () => {
  for (const s of [bareServer, floorServer, floorHashServer]) {
    s.close();
    s.closeAllConnections();
  }
  floorDb.close();
  await running.stop();
  process.exit(0);
});

const inspector = new Session();
process.on('message', async (m) => {
  if (m?.profile === 'start') {
    inspector.connect();
    await inspector.post('Profiler.enable');
    await inspector.post('Profiler.setSamplingInterval', { interval: 200 });
    await inspector.post('Profiler.start');
  } else if (m === 'cpu') {
    // The process's CPU time so far (user + system, ms): the bench takes the difference over a run.
    const { user, system } = process.cpuUsage();
    process.send({ cpuMs: (user + system) / 1000 });
    return;
  } else if (m?.profile === 'stop') {
    const { profile } = await inspector.post('Profiler.stop');
    inspector.disconnect();
    writeFileSync(m.file, JSON.stringify(profile));
  }
  process.send({});
});
