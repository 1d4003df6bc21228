// @ts-check
/* eslint-disable @typescript-eslint/no-require-imports -- CommonJS: the compiled app require()s this folder at run time */
'use strict';

const { access, chmod, readFile, writeFile } = require('node:fs/promises');
const { join } = require('node:path');

/**
 * A small change to FerretDB v1.24.2's SQLite backend so that lookups use the collection's indexes
 * instead of reading (and decoding) the whole table, which FerretDB 1.24 does for every filter but
 * `{_id: <value>}`, and even then without its index:
 * - `IDColumn` becomes the very expression the `_id_` index is built on (`_ferretdb_sjson->"_id"`,
 *   see `indexesCreate` in registry.go); SQLite uses an expression index only for that expression.
 * - When FerretDB itself pushes nothing down (it does only for a filter that is `{_id: <value>}` alone),
 *   an equality with a string or an ObjectID, or an `$in` of those, on the first field of one of the
 *   collection's indexes, `_id_` included, is pushed down as that index's expression
 *   (`indexed_equality.go`): a session by id whatever else the filter holds, sessions by user, users by
 *   name, several sessions by id.
 *
 * Query results never depend on it: every handler that calls the backend's Query applies the whole
 * filter again to the documents returned (the backend contract allows a filter to be applied partly
 * or not at all), so narrowing the rows only saves reading the others. One limit, which this
 * application's documents never meet: MongoDB's equality also matches an array holding the value, and
 * a document whose indexed field (other than `_id`) is such an array is not among the narrowed rows.
 * Every indexed field of this application is a scalar (see the schemas under src/). On MongoDB the
 * indexes are used anyway. Filters with a duplicated key are left alone: FerretDB's `Get` panics on
 * those.
 *
 * Bump the level whenever the edits change: the built binary is cached under a name that includes it.
 */
const FERRETDB_PATCH_LEVEL = 5;

/**
 * @typedef {object} SourceEdit
 * @property {string} file Path inside the module source, with forward slashes.
 * @property {string} original Text that must occur exactly once in the file.
 * @property {string} replacement
 */

class FerretDbSourcePatchError extends Error {
  /** @override */
  name = 'FerretDbSourcePatchError';
}

const INDEXED_EQUALITY_GO = `package sqlite

import (
\t"fmt"
\t"strings"

\t"github.com/FerretDB/FerretDB/internal/backends/sqlite/metadata"
\t"github.com/FerretDB/FerretDB/internal/handler/sjson"
\t"github.com/FerretDB/FerretDB/internal/types"
\t"github.com/FerretDB/FerretDB/internal/util/must"
)

// indexedEqualityWhere narrows the rows by an index of the collection: the first one whose first field
// the filter compares, at its top level, with a string or an ObjectID, or with $in of those. The
// handler applies the whole filter to the rows. Added to FerretDB by secure-logout-jwt's builder.
func indexedEqualityWhere(meta *metadata.Collection, filter *types.Document) (string, []any) {
\tif meta == nil || filter == nil || len(filter.Map()) != filter.Len() {
\t\treturn "", nil
\t}

\tfor _, index := range meta.Settings.Indexes {
\t\tif len(index.Key) == 0 {
\t\t\tcontinue
\t\t}

\t\tfield := index.Key[0].Field
\t\tif strings.ContainsAny(field, ".$[") {
\t\t\tcontinue
\t\t}

\t\tv, err := filter.Get(field)
\t\tif err != nil {
\t\t\tcontinue
\t\t}

\t\tvalues := keyValues(v)
\t\tif len(values) == 0 {
\t\t\tcontinue
\t\t}

\t\t// The expression the index is created on (indexesCreate in metadata/registry.go).
\t\tplaceholders := strings.TrimSuffix(strings.Repeat("?, ", len(values)), ", ")
\t\twhere := fmt.Sprintf(\` WHERE %s->%q IN (%s)\`, metadata.DefaultColumn, field, placeholders)

\t\treturn where, values
\t}

\treturn "", nil
}

// keyValues returns the index keys a filter value matches: a string or an ObjectID, or $in of only
// those; nil for anything else.
func keyValues(v any) []any {
\tswitch v := v.(type) {
\tcase string, types.ObjectID:
\t\treturn []any{string(must.NotFail(sjson.MarshalSingleValue(v)))}
\tcase *types.Document:
\t\tif v.Len() != 1 || len(v.Map()) != 1 {
\t\t\treturn nil
\t\t}

\t\tin, err := v.Get("$in")
\t\tif err != nil {
\t\t\treturn nil
\t\t}

\t\t// Past a thousand values SQLite's limit on bound parameters comes near: read the table instead.
\t\tarr, ok := in.(*types.Array)
\t\tif !ok || arr.Len() == 0 || arr.Len() > 1000 {
\t\t\treturn nil
\t\t}

\t\tvalues := make([]any, 0, arr.Len())

\t\tfor i := 0; i < arr.Len(); i++ {
\t\t\telem := must.NotFail(arr.Get(i))

\t\t\tswitch elem.(type) {
\t\t\tcase string, types.ObjectID:
\t\t\t\tvalues = append(values, string(must.NotFail(sjson.MarshalSingleValue(elem))))
\t\t\tdefault:
\t\t\t\treturn nil
\t\t\t}
\t\t}

\t\treturn values
\t}

\treturn nil
}
`;

/**
 * Files the patch adds; each must not exist in the source.
 * @type {Readonly<Record<string, string>>}
 */
const FERRETDB_SOURCE_FILES = {
  'internal/backends/sqlite/indexed_equality.go': INDEXED_EQUALITY_GO,
};

/**
 * The edits, each an exact replacement.
 * @type {readonly SourceEdit[]}
 */
const FERRETDB_SOURCE_EDITS = [
  {
    file: 'internal/backends/sqlite/metadata/metadata.go',
    original: `IDColumn = DefaultColumn + "->'$._id'"`,
    replacement: 'IDColumn = DefaultColumn + `->"_id"` // patched: the _id_ index expression, so that it is used',
  },
  {
    file: 'internal/backends/sqlite/collection.go',
    original: '\tq += whereClause\n\tq += prepareOrderByClause(params.Sort)\n',
    replacement: [
      '\t// Patched: when nothing was pushed down, an equality on an indexed field narrows the rows.',
      '\tif whereClause == "" {',
      '\t\twhereClause, args = indexedEqualityWhere(meta, params.Filter)',
      '\t}',
      '',
      '\tq += whereClause',
      '\tq += prepareOrderByClause(params.Sort)',
      '',
    ].join('\n'),
  },
  {
    file: 'internal/backends/sqlite/collection.go',
    original: '\torderByClause := prepareOrderByClause(params.Sort)\n',
    replacement: [
      '\t// Patched: when nothing was pushed down, an equality on an indexed field narrows the rows.',
      '\tif whereClause == "" {',
      '\t\twhereClause, args = indexedEqualityWhere(meta, params.Filter)',
      '\t\tfilterPushdown = whereClause != ""',
      '\t}',
      '',
      '\torderByClause := prepareOrderByClause(params.Sort)',
      '',
    ].join('\n'),
  },
];

/**
 * Applies the edits to a copy of the FerretDB module source. Throws, naming the file, when an
 * original text is not found exactly once: another FerretDB version must fail the build loudly
 * rather than yield an unpatched binary.
 * @param {string} sourceDir
 * @param {readonly SourceEdit[]} [edits]
 * @param {Readonly<Record<string, string>>} [added]
 * @returns {Promise<void>}
 */
async function applyFerretDbSourcePatch(sourceDir, edits = FERRETDB_SOURCE_EDITS, added = FERRETDB_SOURCE_FILES) {
  for (const file of Object.keys(added)) {
    if (await exists(join(sourceDir, ...file.split('/')))) {
      throw new FerretDbSourcePatchError(
        `Cannot patch FerretDB source: ${file} exists already (a different FerretDB version?)`,
      );
    }
  }
  /** @type {Map<string, string>} */
  const files = new Map();
  for (const edit of edits) {
    const path = join(sourceDir, ...edit.file.split('/'));
    const text = files.get(path) ?? (await readFile(path, 'utf8'));
    const occurrences = text.split(edit.original).length - 1;
    if (occurrences !== 1) {
      throw new FerretDbSourcePatchError(
        `Cannot patch FerretDB source ${edit.file}: expected the text to replace exactly once, found it ` +
          `${occurrences} times (a different FerretDB version?): ${JSON.stringify(edit.original.slice(0, 80))}`,
      );
    }
    files.set(
      path,
      text.replace(edit.original, () => edit.replacement),
    );
  }
  for (const [path, text] of files) {
    // Copies of the module cache keep its read-only modes.
    await chmod(path, 0o644);
    await writeFile(path, text);
  }
  for (const [file, text] of Object.entries(added)) await writeFile(join(sourceDir, ...file.split('/')), text);
}

/** @param {string} path */
async function exists(path) {
  return access(path).then(
    () => true,
    () => false,
  );
}

module.exports = {
  FERRETDB_PATCH_LEVEL,
  FERRETDB_SOURCE_EDITS,
  FERRETDB_SOURCE_FILES,
  FerretDbSourcePatchError,
  applyFerretDbSourcePatch,
};
