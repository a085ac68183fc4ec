// Server process of the webhook bench: the bot (serve(), as `release-bot serve` runs it, with its
// Jenkins webhook) on $PORT and, in the same process, a bare express JSON endpoint on $BARE_PORT.
// Prints one JSON line when both listen; SIGTERM stops both.
import express from 'express';
import { serve } from '../dist/app/serve.js';
import { nullStream } from './lib/util.js';

const running = await serve({ logDestination: nullStream() });
const bare = express();
bare.post('/webhooks/jenkins', express.json({ limit: '1mb' }), (req, res) => {
  res.status(202).json({ status: 'staged', project: req.body.project, version: req.body.version });
});
const bareServer = await new Promise((resolve, reject) => {
  const s = bare.listen(Number(process.env.BARE_PORT), '127.0.0.1', () => resolve(s));
  s.once('error', reject);
});
process.stdout.write(`${JSON.stringify({ ready: true, pid: process.pid })}\n`);
process.once('SIGTERM', async () => {
  bareServer.close();
  bareServer.closeAllConnections();
  await running.stop();
  process.exit(0);
});
