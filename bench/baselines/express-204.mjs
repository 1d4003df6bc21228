// The bare Express baseline of `npm run bench`: Express 5 with its defaults and one GET route answering
// 204, nothing else. The Express instances' GET /health/live is compared with it, which tells what Express
// itself costs per request from what the app adds on top. A process of its own, like the ceiling.
//
// Express is the project's own copy (through @nestjs/platform-express), the version the instances run.
//
//   node bench/baselines/express-204.mjs      prints {"ready":true,"port":…} once it listens
import { createRequire } from 'node:module';

const projectRequire = createRequire(new URL('../../package.json', import.meta.url));
const express = projectRequire('express');

const app = express();
app.get('/', (_request, response) => {
  response.status(204).end();
});

const server = app.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? '127.0.0.1', (error) => {
  // Express 5 hands a failed listen to this callback rather than throwing.
  if (error) throw error;
  console.log(JSON.stringify({ ready: true, port: server.address().port }));
});

process.once('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
