/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Files must not import each other, directly or through others.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-circular-folders',
      severity: 'error',
      comment:
        'Feature folders (the top-level folders of src/) must not depend on each other in a cycle, even when ' +
        'no single file does: a folder imports another one way only, or both import a third.',
      // Folder scope: a folder's arrows are those of every file under it, so src/users → src/auth and
      // src/auth → src/users is a cycle even though no file of either reaches back to itself.
      scope: 'folder',
      from: { path: '^src/[^/]+$' },
      to: { circular: true },
    },
    {
      name: 'no-foreign-repository',
      severity: 'error',
      comment:
        'A repository is private to its feature folder (the top-level folder of src/ it lives in): other ' +
        "folders go through that folder's service and the plain types it returns, never its records.",
      // $1 is the importing file's top-level folder (or file, for src/*.ts): only that folder's own
      // repositories may be imported.
      from: { path: '^src/([^/]+)' },
      to: { path: '^src/[^/]+/.+[.]repository[.]ts$', pathNot: '^src/$1/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
