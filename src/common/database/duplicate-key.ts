const DUPLICATE_KEY = 11000;

/** A unique index (or the primary key) refused the insert: what makes several inserts "only one wins". */
export function isDuplicateKey(error: unknown): boolean {
  return (error as { code?: number } | null)?.code === DUPLICATE_KEY;
}
