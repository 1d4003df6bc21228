// The ceiling of `npm run bench`: the least work a Node.js HTTP server can do per request on this machine.
// Every app figure is compared with it. It runs as a process of its own, like the apps, so that it does not
// share an event loop with the load generator.
//
//   node bench/baselines/node-http-204.mjs      prints {"ready":true,"port":…} once it listens
import { createServer } from 'node:http';

const server = createServer((_request, response) => {
  response.statusCode = 204;
  response.end();
});

server.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? '127.0.0.1', () => {
  console.log(JSON.stringify({ ready: true, port: server.address().port }));
});

process.once('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
