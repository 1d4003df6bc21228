/**
 * The FerretDB builder moved to dev/embedded-database/ (development tooling, not part of dist/). This
 * re-export keeps the test suites that import these network helpers from here working until they import
 * them from there; tsconfig.build.json leaves it out of the build. Delete it then.
 */
export { canConnect, findFreePort } from '../../../dev/embedded-database/ferretdb-server';
