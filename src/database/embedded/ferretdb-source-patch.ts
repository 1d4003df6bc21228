import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * A small change to FerretDB v1.24.2's SQLite backend so that lookups by `_id` use the unique `_id`
 * index instead of reading the whole table:
 * - `IDColumn` becomes the very expression the `_id_` index is built on (`_ferretdb_sjson->"_id"`,
 *   see `indexesCreate` in registry.go); SQLite uses an expression index only for that expression.
 * - `Query` and `Explain` push `_id = ?` down whenever the filter has a top-level `_id` that is a
 *   string or an ObjectID, not only when `_id` is the filter's one key.
 *
 * Correctness never depends on it: every handler that calls the backend's Query applies the whole
 * filter again to the documents returned (the backend contract allows a filter to be applied partly
 * or not at all), so narrowing the rows to that `_id` only saves reading the others. On MongoDB the
 * `_id` index is used anyway. Filters with a duplicated key are left alone: FerretDB's `Get` panics
 * on those.
 *
 * Bump the level whenever the edits change: the built binary is cached under a name that includes it.
 */
export const FERRETDB_PATCH_LEVEL = 1;

export interface SourceEdit {
  /** Path inside the module source, with forward slashes. */
  readonly file: string;
  /** Text that must occur exactly once in the file. */
  readonly original: string;
  readonly replacement: string;
}

export class FerretDbSourcePatchError extends Error {
  override name = 'FerretDbSourcePatchError';
}

const NARROW_BY_ID = [
  '// Patched: a top-level _id narrows the rows to that document whatever else the filter holds;',
  '\t// the handler applies the whole filter to them. Duplicated keys are left alone (Get panics on them).',
  '\tif len(params.Filter.Map()) == params.Filter.Len() {',
].join('\n');

const ID_LOOKUP = ['\t\tv, _ := params.Filter.Get("_id")', '\t\tswitch v.(type) {', '\t\tcase string, types.ObjectID:'];

/** The edits, each an exact replacement; Query and Explain differ in the line that follows the case. */
export const FERRETDB_SOURCE_EDITS: readonly SourceEdit[] = [
  {
    file: 'internal/backends/sqlite/metadata/metadata.go',
    original: `IDColumn = DefaultColumn + "->'$._id'"`,
    replacement: 'IDColumn = DefaultColumn + `->"_id"` // patched: the _id_ index expression, so that it is used',
  },
  ...['\t\t\twhereClause = fmt.Sprintf(', '\t\t\tfilterPushdown = true'].map((firstStatement) => ({
    file: 'internal/backends/sqlite/collection.go',
    original: ['if params.Filter.Len() == 1 {', ...ID_LOOKUP, firstStatement].join('\n'),
    replacement: [NARROW_BY_ID, ...ID_LOOKUP, firstStatement].join('\n'),
  })),
];

/**
 * Applies the edits to a copy of the FerretDB module source. Throws, naming the file, when an
 * original text is not found exactly once: another FerretDB version must fail the build loudly
 * rather than yield an unpatched binary.
 */
export async function applyFerretDbSourcePatch(
  sourceDir: string,
  edits: readonly SourceEdit[] = FERRETDB_SOURCE_EDITS,
): Promise<void> {
  const files = new Map<string, string>();
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
}
