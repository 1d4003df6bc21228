// The baseline of `npm run bench`: the design of the tutorial this project grew out of
// (its "Implementing JWT Verification Middleware" section), on the same
// FerretDB as the apps. Per request it does what the tutorial's middleware does, no more and no less:
//   - the token comes from the `accessToken` cookie, else from `Authorization: Bearer …`;
//   - jsonwebtoken verifies it with the secret as a plain string (no algorithm pinned);
//   - mongoose loads the user by the token's `_id` claim, a full document without password and refresh token;
//   - no user, or any error: 401.
// The tutorial's server also parses JSON bodies and cookies on every request, so this one does too. It
// registers one route, GET /api/auth/verify (204), because the tutorial guards only its logout route and a
// benchmark must not log its own user out.
//
// Its dependencies are the project's own copies (Express 5 through @nestjs/platform-express, jsonwebtoken
// through @nestjs/jwt, mongoose, cookie-parser), so both sides run the same library versions.
//
//   MONGODB_URI=… MONGODB_DB_NAME=… ACCESS_TOKEN_SECRET=… node bench/baselines/tutorial-express.mjs
//
// On start it seeds one user, signs a token for it and prints {"ready":true,"port":…,"token":…}.
import { createRequire } from 'node:module';

const projectRequire = createRequire(new URL('../../package.json', import.meta.url));
const express = projectRequire('express');
const jwt = projectRequire('jsonwebtoken');
const mongoose = projectRequire('mongoose');
const cookieParser = projectRequire('cookie-parser');

const { MONGODB_URI, MONGODB_DB_NAME, ACCESS_TOKEN_SECRET } = process.env;
if (!MONGODB_URI || !ACCESS_TOKEN_SECRET) {
  console.error('tutorial-express: MONGODB_URI and ACCESS_TOKEN_SECRET are required');
  process.exit(2);
}

// The tutorial's user model: the refresh token is stored on the user, which is all its "logout" clears.
const User = mongoose.model(
  'User',
  new mongoose.Schema({
    username: { type: String, required: true },
    password: { type: String, required: true },
    refreshToken: { type: String },
  }),
);

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** The tutorial wraps its async middleware so that a rejection reaches Express's error handling. */
const forwardRejections = (middleware) => (req, res, next) => Promise.resolve(middleware(req, res, next)).catch(next);

const requireUser = forwardRejections(async (req, _res, next) => {
  try {
    const fromHeader = req.get('authorization')?.replace('Bearer ', '');
    const token = req.cookies?.accessToken || fromHeader;
    if (!token) throw new HttpError(401, 'Unauthorized request');
    const claims = jwt.verify(token, ACCESS_TOKEN_SECRET);
    // A hydrated document (no .lean()), as in the tutorial: that cost is part of its design.
    const user = await User.findById(claims?._id).select({ password: 0, refreshToken: 0 });
    if (!user) throw new HttpError(401, 'Invalid access token');
    req.user = user;
    next();
  } catch (error) {
    // Every failure, a database error included, becomes a 401 carrying the original message.
    throw new HttpError(401, error?.message || 'Invalid access token');
  }
});

const app = express();
app.use(express.json());
app.use(cookieParser());
const router = express.Router();
router.get('/auth/verify', requireUser, (_req, res) => res.status(204).end());
app.use('/api', router);
// Express's default handler would print each refusal's stack; a benchmark only needs the status.
app.use((error, _req, res, _next) => res.status(error.status ?? 500).json({ message: error.message }));

// The tutorial also passes useNewUrlParser/useUnifiedTopology, which the current driver no longer takes.
await mongoose.connect(MONGODB_URI, { dbName: MONGODB_DB_NAME ?? 'bench_tutorial' });
const user = await User.create({ username: 'bench-tutorial-user', password: 'not-used-by-the-benchmark' });
const token = jwt.sign({ _id: user._id.toString(), username: user.username }, ACCESS_TOKEN_SECRET, {
  expiresIn: '2h',
});

const server = app.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? '127.0.0.1', () => {
  console.log(JSON.stringify({ ready: true, port: server.address().port, token }));
});

process.once('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => mongoose.disconnect().finally(() => process.exit(0)));
});
