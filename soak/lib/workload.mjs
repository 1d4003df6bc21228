// The virtual users. Each one loops through whole session lifecycles, the way real clients use the
// service, against two instances picked at random per request, and judges every answer against
// the HTTP API (docs/http-api.md). The one thing that must never happen: a token of a session that was
// logged out, revoked or caught in refresh-token reuse being accepted anywhere, even on the very next
// request to the other instance.
//
// One lifecycle:
//   [register a new user, sometimes, and a case-variant duplicate (409), rarely]
//   [a wrong-password login (401), rarely]
//   login (a "body" client keeps the tokens from the JSON body and sends Authorization: Bearer; a
//     "cookie" client is a browser: it keeps the HttpOnly cookies and sends them back, with the
//     same-origin headers a browser adds)
//   1-4 rounds of: 40-120 uses (mostly verify, some users/me and sessions; sometimes an older but still
//     valid access token, sometimes a token of the wrong type, which must be refused), then refresh
//     (rotation) and a verify with the new access token
//   one ending, after which every token of the session must get 401 on both instances, starting with
//   the instance that did not handle the ending:
//     logout | reuse of a superseded refresh token | N concurrent refreshes with one token (exactly
//     one may win, the rest are reuse) | logout racing a refresh | DELETE /api/auth/sessions/:own id |
//     logout-all (with a second session that must die too) | account deletion | password change (a
//     second session must die, the changing one lives on until it logs out, the old password fails)
//
// Argon2 makes register, login and password change the expensive requests (tens of ms of CPU each): a
// lifecycle carries about 1.7 of them against some 200 cheap ones, so they run steadily without
// drowning the rest.
import { RunAborted } from './http-client.mjs';
import { Endings } from './endings.mjs';
import { between, chance, LifecycleBroken, P_COOKIE_CLIENT, pick, pickWeighted } from './session-steps.mjs';

const P_NEW_USER = 0.2;
const P_WRONG_PASSWORD = 0.05;
const ENDINGS = [
  ['logout', 40],
  ['reuse', 15],
  ['refreshRace', 10],
  ['logoutRace', 10],
  ['deleteSession', 5],
  ['logoutAll', 5],
  ['deleteAccount', 5],
  ['changePassword', 10],
];
/** Virtual users start at most this far apart, and all of them within START_SPREAD_MS. */
const START_STAGGER_MS = 100;
const START_SPREAD_MS = 5000;
/**
 * Pause after a failed lifecycle: a service that refuses everything (an instance gone) would otherwise
 * be hammered in a tight loop, burying the first, telling failures under thousands of copies.
 */
const PAUSE_AFTER_FAILURE_MS = 250;

export class Workload {
  constructor({ instances, client, recorder }) {
    this.instances = instances;
    this.client = client;
    this.recorder = recorder;
    this.stopRequested = false;
  }

  /** Runs `concurrency` virtual users until stop() and resolves when each has finished its lifecycle. */
  run(concurrency) {
    // Staggered, so that the first registrations (argon2) do not all land at once.
    const stagger = Math.min(START_STAGGER_MS, START_SPREAD_MS / concurrency);
    return Promise.all(
      Array.from({ length: concurrency }, async (_, index) => {
        await new Promise((resolveDelay) => setTimeout(resolveDelay, index * stagger));
        await new VirtualUser(index, this).loop();
      }),
    );
  }

  /** No new lifecycle starts; the ones under way finish, so that every ending is checked. */
  stop() {
    this.stopRequested = true;
  }

  other(instance) {
    return this.instances.find((candidate) => candidate !== instance) ?? instance;
  }

  randomInstance() {
    return pick(this.instances);
  }
}

class VirtualUser extends Endings {
  async loop() {
    while (!this.workload.stopRequested) {
      const ending = pickWeighted(ENDINGS);
      this.lifecycleFailures = new Set();
      try {
        await this.lifecycle(ending);
        this.recorder.lifecycleEnded(ending, true, this.lifecycleFailures);
      } catch (error) {
        if (error instanceof RunAborted) return;
        if (!(error instanceof LifecycleBroken)) throw error;
        this.recorder.lifecycleEnded(ending, false, this.lifecycleFailures);
        // Whatever failed may have left the user in an unknown state: start over with a new one.
        this.user = null;
        await new Promise((resolveDelay) => setTimeout(resolveDelay, PAUSE_AFTER_FAILURE_MS));
      }
    }
  }

  async lifecycle(ending) {
    if (!this.user || chance(P_NEW_USER)) await this.register();
    if (chance(P_WRONG_PASSWORD)) await this.wrongPasswordLogin();
    const device = await this.login(chance(P_COOKIE_CLIENT) ? 'cookie' : 'body');
    const rounds = between(1, 4);
    for (let round = 0; round < rounds; round++) {
      await this.useSession(device);
      await this.refresh(device);
    }
    await this[ending](device);
  }
}
