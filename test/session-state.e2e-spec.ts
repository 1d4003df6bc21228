/**
 * Suites of sessions and their state, several to a file: Jest loads the application's modules afresh for
 * every file. Every suite builds its own apps in its own describe blocks, so running them one after the
 * other changes nothing they assert.
 */
import './users.e2e-suite';
import './refresh-rotation.e2e-suite';
import './sessions-management.e2e-suite';
import './revocation-races.e2e-suite';
import './database/query-plans.e2e-suite';

// The longest any of them sets: each suite's call replaces the previous one's.
jest.setTimeout(120_000);
