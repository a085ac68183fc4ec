// Baseline for the idle-memory bench: a bare express server on 127.0.0.1:$PORT with one JSON route.
import express from 'express';

const app = express();
app.get('/healthz', (_req, res) => res.json({ ok: true }));
const server = app.listen(Number(process.env.PORT), '127.0.0.1');
process.once('SIGTERM', () => server.close(() => process.exit(0)));
