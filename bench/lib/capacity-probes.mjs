// For `npm run capacity`: the commands an instance sends to the database (a loopback proxy reading the MongoDB
// wire protocol), its Redis calls (INFO commandstats; MONITOR tells the timers' apart), the bytes a session
// leaves in each, and the API client the run drives an instance with.
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { connect, createServer } from 'node:net';
import { postJson } from './apps.mjs';
import { ROOT, sleep } from './processes.mjs';

const require = createRequire(`${ROOT}/package.json`);
const { BSON } = require('bson');
const Redis = require('ioredis');

const OP_MSG = 2013;
const CHECKSUM_PRESENT = 1;
/** The driver's own traffic: handshakes, server monitoring, session ends (and any message not OP_MSG). */
const HANDSHAKE = /^(hello|ismaster|ping|endsessions|buildinfo|sasl\w+|opcode \d+)$/i;
const READS = ['find', 'aggregate', 'count', 'distinct', 'getMore'];
const WRITES = ['insert', 'update', 'delete', 'findAndModify'];

/**
 * The command of one client message. OP_MSG: header (16 bytes), flagBits, sections: kind 0 the command (one
 * BSON document, its first key the command's name), kind 1 a document sequence (size, identifier, documents),
 * merged in under its identifier. Anything else (legacy OP_QUERY) the driver sends only for its handshakes.
 */
export function decodeCommand(message) {
  const opCode = message.readInt32LE(12);
  if (opCode !== OP_MSG) return { [`opCode ${opCode}`]: 1 };
  const end = message.length - (message.readUInt32LE(16) & CHECKSUM_PRESENT ? 4 : 0);
  let command = {};
  const sequences = {};
  for (let offset = 20; offset < end; offset += 1 + message.readInt32LE(offset + 1)) {
    const sectionEnd = offset + 1 + message.readInt32LE(offset + 1);
    if (message[offset] === 0) {
      command = BSON.deserialize(message.subarray(offset + 1, sectionEnd));
      continue;
    }
    const idEnd = message.indexOf(0, offset + 5);
    const documents = [];
    for (let at = idEnd + 1; at < sectionEnd; at += message.readInt32LE(at)) {
      documents.push(BSON.deserialize(message.subarray(at, at + message.readInt32LE(at))));
    }
    sequences[message.toString('utf8', offset + 5, idEnd)] = documents;
  }
  return { ...command, ...sequences };
}

/**
 * Work an instance does on timers, not for a request: the revocation catch-up (Redis mode, every 2 s), the
 * purges of rate-limit hits (every minute) and of claims, revocation records and ended sessions (every 10).
 */
function isBackground(name, collection, command) {
  if (name === 'find' && collection === 'session_revocations') return 'revokedMinute' in (command.filter ?? {});
  if (name === 'getMore') return collection === 'session_revocations';
  if (name !== 'delete') return false;
  if (['rate_limit_hits', 'refresh_rotations', 'session_revocations'].includes(collection)) return true;
  return collection === 'sessions' && (command.deletes ?? []).some((statement) => '$or' in (statement.q ?? {}));
}

/** `find sessions` (command and collection), and its class: read, write, other, handshake or background. */
export function classify(command) {
  const name = Object.keys(command)[0] ?? 'empty';
  const collection = name === 'getMore' ? command.collection : command[name];
  const label = typeof collection === 'string' ? `${name} ${collection}` : name;
  if (HANDSHAKE.test(name)) return { label, kind: 'handshake' };
  if (isBackground(name, collection, command)) return { label, kind: 'background' };
  return { label, kind: READS.includes(name) ? 'read' : WRITES.includes(name) ? 'write' : 'other' };
}

/**
 * A TCP proxy in front of FerretDB's port on loopback. Every byte is passed on unchanged; the client's
 * messages are framed (int32 length first) and, while a bucket is open, decoded and tallied in it as
 * `read find sessions`; background and handshake commands in any bucket are tallied in `apart` instead.
 */
export async function startWireProxy(upstreamPort) {
  const sockets = new Set();
  const proxy = { bucket: undefined, tallies: {}, seconds: 0 };
  /** Opens a bucket, runs `work`, waits for stragglers, closes it; returns its tally. */
  proxy.record = async (bucket, work, settleMs = 300) => {
    const started = performance.now();
    proxy.bucket = bucket;
    try {
      await work();
      await sleep(settleMs);
    } finally {
      proxy.bucket = undefined;
      proxy.seconds += (performance.now() - started) / 1000;
    }
    return proxy.tallies[bucket] ?? {};
  };
  const server = createServer((client) => {
    const upstream = connect(upstreamPort, '127.0.0.1');
    let pending = Buffer.alloc(0);
    client.on('data', (chunk) => {
      upstream.write(chunk);
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      while (pending.length >= 16 && pending.length >= pending.readInt32LE(0)) {
        const message = pending.subarray(0, pending.readInt32LE(0));
        pending = pending.subarray(message.length);
        if (proxy.bucket === undefined) continue;
        const { label, kind } = classify(decodeCommand(message));
        const apart = kind === 'handshake' || kind === 'background';
        const [tally, key] = [
          (proxy.tallies[apart ? 'apart' : proxy.bucket] ??= {}),
          `${kind}${apart ? ':' : ''} ${label}`,
        ];
        tally[key] = (tally[key] ?? 0) + 1;
      }
    });
    upstream.on('data', (chunk) => client.write(chunk));
    const close = () => [client, upstream].forEach((socket) => sockets.delete(socket.destroy()));
    for (const socket of [client, upstream]) sockets.add(socket.on('close', close).on('error', close));
  });
  await new Promise((resolveListen) => server.listen(0, '127.0.0.1', resolveListen));
  proxy.uri = `mongodb://127.0.0.1:${server.address().port}/?directConnection=true`;
  proxy.close = () => {
    sockets.forEach((socket) => socket.destroy());
    return new Promise((resolveClose) => server.close(() => resolveClose()));
  };
  return proxy;
}

/** One field of an INFO section, as a number. */
const infoField = (info, name) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)[1]);
const usedMemory = async (redis) => infoField(await redis.info('memory'), 'used_memory');
/** Redis's own CPU seconds, user + system of the whole process (INFO cpu: microseconds, not /proc's ticks). */
export const redisCpuSeconds = async (redis) => {
  const info = await redis.info('cpu');
  return infoField(info, 'used_cpu_sys') + infoField(info, 'used_cpu_user');
};
const commandCalls = async (redis) => {
  const stats = (await redis.info('commandstats')).matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm);
  return Object.fromEntries([...stats].map(([, name, calls]) => [name, Number(calls)]));
};

/** Sent by the probe itself, or by the app only when it connects. */
const PROBE_COMMANDS = ['info', 'monitor', 'client', 'memory', 'keys', 'hello', 'select'];

/**
 * A Redis client for the probes. From the first `record` on (MONITOR costs Redis CPU), a MONITOR connection
 * counts the revocation catch-up's calls: EXISTS of a marker (an MGET of markers only, before the hash tags),
 * which no request sends, so that each window's calls can leave them out.
 */
export async function openRedisProbe(url) {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  const catchUp = {};
  let monitor;
  const watch = async () => {
    const connection = await redis.monitor();
    connection.on('monitor', (_time, [name, ...keys], source) => {
      const command = String(name).toLowerCase();
      if (source === 'lua' || !['exists', 'mget'].includes(command)) return;
      if (keys.every((key) => key.includes('revoked'))) catchUp[command] = (catchUp[command] ?? 0) + 1;
    });
    return connection;
  };
  /** Runs `work`; the INFO commandstats calls it caused, per command, the catch-up's left out. */
  const record = async (work, settleMs = 300) => {
    monitor ??= await watch();
    const [before, catchUpBefore] = [await commandCalls(redis), { ...catchUp }];
    await work();
    await sleep(settleMs);
    const after = await commandCalls(redis);
    const timers = {};
    for (const name of Object.keys(catchUp)) timers[name] = catchUp[name] - (catchUpBefore[name] ?? 0);
    const calls = {};
    for (const [name, total] of Object.entries(after)) {
      const diff = total - (before[name] ?? 0) - (timers[name] ?? 0);
      if (diff > 0 && !PROBE_COMMANDS.includes(name)) calls[name] = diff;
    }
    return { calls, catchUp: timers };
  };
  const close = () => [monitor, redis].forEach((connection) => connection?.disconnect());
  return { redis, record, close };
}

/** The keys whose name holds `needle`: MEMORY USAGE (SAMPLES 0: every byte counted), PTTL and value. */
async function describeKeys(redis, needle) {
  const keys = (await redis.keys(`*${needle}*`)).sort();
  const describe = async (key) => ({
    key,
    bytes: await redis.memory('USAGE', key, 'SAMPLES', '0'),
    ttlMs: await redis.pttl(key),
    value: await redis.get(key),
  });
  return Promise.all(keys.map(describe));
}

/**
 * used_memory grown per key by `count` keys like `sample` (`needle` in its name replaced, its value and expiry),
 * written into an emptied Redis (the run is done with it by then): buckets and expiry entries included.
 */
async function usedMemoryPerKey(redis, sample, needle, count, makeNeedle) {
  await redis.flushall('SYNC');
  await sleep(200);
  const names = Array.from({ length: count }, () => sample.key.replace(needle, makeNeedle()));
  const before = await usedMemory(redis);
  for (let first = 0; first < count; first += 1000) {
    const batch = redis.pipeline();
    for (const name of names.slice(first, first + 1000)) batch.set(name, sample.value, 'PX', sample.ttlMs);
    await batch.exec();
  }
  // Time for an incremental rehash to finish: until then the old table is counted too.
  await sleep(500);
  return ((await usedMemory(redis)) - before) / count;
}

const sidOf = (token) => JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()).sid;
/** The probes' own client addresses: all of one length, none a prefix of another address the run uses. */
const PROBE_ADDRESSES = ['100.100.100.201', '100.100.100.202', '100.100.100.203'];
const randomAddress = () => Array.from({ length: 4 }, () => 100 + Math.floor(Math.random() * 156)).join('.');

/**
 * The Redis keys a session leaves (live while logged in, the marker after its logout), a login (its rate-limit
 * counter; the failure counter goes when the password is right) and a failed login (the failure counter).
 */
export async function redisKeys(client, { redis }, written) {
  const [loginAt, failedAt, logoutAt] = PROBE_ADDRESSES;
  const session = await client.login({ address: loginAt });
  const sid = sidOf(session.accessToken);
  const [live] = await describeKeys(redis, sid);
  const [rateLimit] = await describeKeys(redis, loginAt);
  await client.failedLogin(failedAt);
  const failedKeys = await describeKeys(redis, failedAt);
  const failure = failedKeys.find(({ key }) => key !== rateLimit.key.replace(loginAt, failedAt));
  await client.logout(session.accessToken, logoutAt);
  const [revoked] = await describeKeys(redis, sid);
  const keys = {
    'live key': [live, sid],
    'revocation marker': [revoked, sid],
    'rate-limit counter': [rateLimit, loginAt],
    'login-failure counter': [failure, failedAt],
  };
  for (const [name, [sample, needle]] of Object.entries(keys)) {
    if (!sample) throw new Error(`no Redis key holding ${needle} (${name})`);
    const make = needle === sid ? () => randomBytes(sid.length / 2).toString('hex') : randomAddress;
    sample.usedMemoryPerKey = await usedMemoryPerKey(redis, sample, needle, written, make);
    sample.key = sample.key.replace(needle, needle === sid ? '<sid>' : '<address>');
    sample.key = sample.key.replace(client.user.username, '<username>');
  }
  return Object.fromEntries(Object.entries(keys).map(([name, [sample]]) => [name, sample]));
}

/** BSON bytes of the newest document of each kind that logins, refreshes and logouts leave in the database. */
export async function documentBytes(uri, databaseName, username) {
  const client = new (require('mongoose').mongo.MongoClient)(uri, { serverSelectionTimeoutMS: 10_000 });
  await client.connect();
  try {
    const db = client.db(databaseName);
    const newest = (name, filter, sort) => db.collection(name).find(filter).sort(sort).limit(1).next();
    const documents = {
      'session, live': await newest('sessions', { revokedAt: null }, { _id: -1 }),
      'session, revoked': await newest('sessions', { revokedAt: { $ne: null } }, { _id: -1 }),
      'revocation record': await newest('session_revocations', {}, { revokedAt: -1 }),
      'rotation claim': await newest('refresh_rotations', {}, { claimedAt: -1 }),
      user: await newest('users', { username }, { _id: -1 }),
      'rate-limit hit': await newest('rate_limit_hits', {}, { at: -1 }),
      'login failure': await newest('login_failures', {}, { at: -1 }),
    };
    const bytes = (document) => document && BSON.calculateObjectSize(document);
    return Object.fromEntries(Object.entries(documents).map(([name, document]) => [name, bytes(document)]));
  } finally {
    await client.close();
  }
}

let addresses = 0;
const nextAddress = () => `10.${(++addresses >> 16) & 255}.${(addresses >> 8) & 255}.${addresses & 255}`;

/** `count` calls of `fn(i, worker)` by `concurrency` workers, each waiting for its previous call. */
export async function times(count, concurrency, fn) {
  let next = 0;
  const worker = async (_, index) => {
    while (next < count) await fn(next++, index);
  };
  await Promise.all(Array.from({ length: Math.min(count, concurrency) }, worker));
}

/** The API calls the run makes, each request from a new client address unless one is given. */
export function clientOf(instance) {
  const user = JSON.parse(instance.loginBody);
  const send = async (path, { body, token, address = nextAddress(), expected = 200 } = {}) => {
    const headers = { 'x-forwarded-for': address, ...(token ? { authorization: `Bearer ${token}` } : {}) };
    const answer = await postJson(`${instance.base}/api/auth/${path}`, body ?? {}, headers);
    if (answer.status !== expected) throw new Error(`POST /api/auth/${path} answered ${answer.status}`);
    return answer.body;
  };
  const login = (options) => send('login', { body: user, ...options });
  const verify = async (token) => {
    const answer = await fetch(`${instance.base}/api/auth/verify`, { headers: { authorization: `Bearer ${token}` } });
    if (answer.status !== 204) throw new Error(`GET /api/auth/verify answered ${answer.status}`);
  };
  const refresh = async (chain) => (chain.refreshToken = (await send('refresh', { body: chain })).refreshToken);
  const logout = (token, address) => send('logout', { token, address });
  const failedLogin = (address) => login({ body: { ...user, password: 'wrong-password' }, address, expected: 401 });
  return { user, login, verify, refresh, logout, failedLogin };
}
