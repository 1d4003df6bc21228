import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyFerretDbSourcePatch, FerretDbSourcePatchError } from './ferretdb-source-patch';

/** The snippets of FerretDB v1.24.2 the patch replaces, in files shaped like the originals. */
const METADATA_GO = `const (
	IDColumn = DefaultColumn + "->'$._id'"
)
`;

const pushdown = (firstStatement: string) => `	if params.Filter.Len() == 1 {
		v, _ := params.Filter.Get("_id")
		switch v.(type) {
		case string, types.ObjectID:
${firstStatement}
		}
	}
`;

const COLLECTION_GO = `func (c *collection) Query() {
${pushdown('\t\t\twhereClause = fmt.Sprintf(` WHERE %s = ?`, metadata.IDColumn)')}
	q += whereClause
	q += prepareOrderByClause(params.Sort)
}

func (c *collection) Explain() {
${pushdown('\t\t\tfilterPushdown = true')}
	orderByClause := prepareOrderByClause(params.Sort)
}
`;

describe(applyFerretDbSourcePatch.name, () => {
  let sourceDir: string;
  const metadataGo = () => join(sourceDir, 'internal/backends/sqlite/metadata/metadata.go');
  const collectionGo = () => join(sourceDir, 'internal/backends/sqlite/collection.go');
  const indexedEqualityGo = () => join(sourceDir, 'internal/backends/sqlite/indexed_equality.go');

  beforeEach(async () => {
    sourceDir = await mkdtemp(join(tmpdir(), 'ferretdb-patch-'));
    await mkdir(join(sourceDir, 'internal/backends/sqlite/metadata'), { recursive: true });
    await writeFile(metadataGo(), METADATA_GO);
    await writeFile(collectionGo(), COLLECTION_GO);
    // Like a copy of the module cache.
    await Promise.all([chmod(metadataGo(), 0o444), chmod(collectionGo(), 0o444)]);
  });
  afterEach(() => rm(sourceDir, { recursive: true, force: true }));

  it('uses the _id index expression and pushes an indexed equality (the _id included) down in Query and Explain', async () => {
    await applyFerretDbSourcePatch(sourceDir);

    expect(await readFile(metadataGo(), 'utf8')).toContain('IDColumn = DefaultColumn + `->"_id"`');
    const collection = await readFile(collectionGo(), 'utf8');
    // FerretDB's own pushdown of a bare {_id} stays as it is; the patch only adds to it.
    expect(collection.match(/if params\.Filter\.Len\(\) == 1 \{/g)).toHaveLength(2);
    expect(collection).toContain('metadata.IDColumn)');
    expect(collection).toContain('filterPushdown = true');
    expect(collection.match(/whereClause, args = indexedEqualityWhere\(meta, params\.Filter\)/g)).toHaveLength(2);
    expect(await readFile(indexedEqualityGo(), 'utf8')).toContain('func indexedEqualityWhere(');
  });

  it('refuses to overwrite a file it would add', async () => {
    await writeFile(indexedEqualityGo(), 'package sqlite\n');

    await expect(applyFerretDbSourcePatch(sourceDir)).rejects.toThrow(/indexed_equality\.go exists already/);
    expect(await readFile(collectionGo(), 'utf8')).toBe(COLLECTION_GO);
  });

  it('throws naming the file, and changes nothing, when a snippet is not found exactly once', async () => {
    await chmod(collectionGo(), 0o644);
    await writeFile(
      collectionGo(),
      COLLECTION_GO.replace('orderByClause := prepareOrderByClause', 'orderBy := prepareOrderByClause'),
    );

    const attempt = applyFerretDbSourcePatch(sourceDir);

    await expect(attempt).rejects.toThrow(FerretDbSourcePatchError);
    await expect(attempt).rejects.toThrow(/internal\/backends\/sqlite\/collection\.go.*found it 0 times/);
    expect(await readFile(metadataGo(), 'utf8')).toBe(METADATA_GO);
  });
});
