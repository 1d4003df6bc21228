// Seeds a database the way a small production install looks after a while: many users, each with a few
// sessions, some of them revoked or ended. Written straight into the collections the app reads (the same
// document shapes as src/sessions/schemas and src/users/schemas), because creating 50,000 sessions through
// the API would take an hour of argon2. Used by `npm run bench` and `npm run soak`.
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { ROOT } from './processes.mjs';

const require = createRequire(`${ROOT}/package.json`);
const { mongo } = require('mongoose');
const argon2 = require('argon2');

const BATCH = 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Adds sessions to `databaseName` on `uri` until the sessions collection holds `total` documents, spread
 * over users of `sessionsPerUser` sessions each. Of the seeded sessions, one in ten is revoked (with its
 * revocation record, as a logout leaves it, within the day the app keeps it) and one in twenty is
 * idle-expired; the rest are live. The app's purge (every 10 minutes) deletes idle-expired sessions:
 * `idleEnded: false` seeds live ones in their place, for a run that must keep `total` longer than that.
 * Every seeded document is older than anything the app creates afterwards, so a session logged in after
 * the seeding is among the newest: the worst case for a lookup that scans.
 * Returns { users, sessions } as counted after the seeding.
 */
export async function seedSessions({ uri, databaseName, total, sessionsPerUser = 10, idleEnded = true }) {
  const client = new mongo.MongoClient(uri, { serverSelectionTimeoutMS: 10_000 });
  await client.connect();
  try {
    const db = client.db(databaseName);
    const sessions = db.collection('sessions');
    const existing = await sessions.countDocuments();
    const missing = total - existing;
    if (missing > 0) {
      // A real argon2id hash of a password nobody knows: a seeded user costs a login what a real one does.
      const passwordHash = await argon2.hash(randomBytes(16).toString('hex'), { type: argon2.argon2id });
      await insertSeeded(db, { offset: existing, count: missing, sessionsPerUser, passwordHash, idleEnded });
    }
    return { users: await db.collection('users').countDocuments(), sessions: await sessions.countDocuments() };
  } finally {
    await client.close();
  }
}

async function insertSeeded(db, { offset, count, sessionsPerUser, passwordHash, idleEnded }) {
  const now = Date.now();
  // Older than every document written after the seeding, one millisecond apart, oldest first.
  const start = now - DAY_MS - count;
  const runId = new mongo.ObjectId().toHexString().slice(-8);
  let user;
  for (let first = 0; first < count; first += BATCH) {
    const users = [];
    const sessions = [];
    const revocations = [];
    for (let index = first; index < Math.min(count, first + BATCH); index++) {
      const createdAt = new Date(start + index);
      if (index % sessionsPerUser === 0 || !user) {
        const username = `seeded_${runId}_${offset + index}`;
        user = {
          _id: new mongo.ObjectId(),
          username,
          usernameKey: username,
          passwordHash,
          roles: ['user'],
          credentialsVersion: null,
          createdAt,
          updatedAt: createdAt,
        };
        users.push(user);
      }
      const session = seededSession(user, createdAt, index, now, idleEnded);
      sessions.push(session);
      if (session.revokedAt) {
        revocations.push({
          _id: session._id,
          userId: user._id,
          revokedAt: session.revokedAt,
          revokedMinute: session.revokedAt.toISOString().slice(0, 16),
          reason: 'logout',
          expiresAt: session.absoluteExpiresAt,
        });
      }
    }
    if (users.length > 0) await db.collection('users').insertMany(users, { ordered: false });
    await db.collection('sessions').insertMany(sessions, { ordered: false });
    if (revocations.length > 0) await db.collection('session_revocations').insertMany(revocations, { ordered: false });
  }
}

function seededSession(user, createdAt, index, now, withIdleEnded) {
  const revoked = index % 10 === 3;
  const idleEnded = withIdleEnded && index % 20 === 7;
  return {
    _id: new mongo.ObjectId(),
    userId: user._id,
    generation: index % 5,
    ...(revoked ? {} : { refreshTokenHash: (index.toString(16) + '0'.repeat(64)).slice(0, 64) }),
    lastUsedAt: createdAt,
    rotatedAt: null,
    idleExpiresAt: new Date(idleEnded ? now - DAY_MS / 2 : now + 7 * DAY_MS),
    absoluteExpiresAt: new Date(now + 30 * DAY_MS),
    credentialsVersion: null,
    // Half a day ago: the purge deletes revoked sessions a day after their revocation, and a revocation a
    // second after a creation more than a day old would be gone at its first pass.
    revokedAt: revoked ? new Date(now - DAY_MS / 2) : null,
    revokedReason: revoked ? 'logout' : null,
    userAgent: 'Mozilla/5.0 (X11; Linux x86_64) seeded',
    ip: `10.${(index >> 16) & 255}.${(index >> 8) & 255}.${index & 255}`,
    createdAt,
    updatedAt: createdAt,
  };
}
