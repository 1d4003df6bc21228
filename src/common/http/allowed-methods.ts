/** The methods served on a path, or none when nothing is routed there. */
export type AllowedMethodsLookup = (path: string) => string[];

/** Keyed by the application's HTTP adapter, which each platform's set-up fills in. */
const lookups = new WeakMap<object, AllowedMethodsLookup>();

export function registerAllowedMethods(httpAdapter: object, lookup: AllowedMethodsLookup): void {
  lookups.set(httpAdapter, lookup);
}

/**
 * The methods the router serves on this path, with HEAD wherever GET is served. Asked only when a
 * request found no route, to tell a wrong method (405) from an unknown path (404).
 */
export function allowedMethods(httpAdapter: object, path: string): string[] {
  const methods = new Set(lookups.get(httpAdapter)?.(path) ?? []);
  if (methods.has('GET')) methods.add('HEAD');
  return [...methods].sort();
}
