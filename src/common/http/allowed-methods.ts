import type { Request } from 'express';

interface RouteLayer {
  route?: { methods: Record<string, boolean> };
  match(path: string): boolean;
}

/** Nest mounts route-scoped middleware (the request logger) as a route for every method. */
function isMiddlewareMount(methods: Record<string, boolean>): boolean {
  return ['get', 'post', 'put', 'patch', 'delete', 'options', 'trace'].every((method) => methods[method]);
}

/**
 * The methods that the Express router serves for this request's path, from its route layers. Asked
 * only when a request found no route, to tell a wrong method (405) from an unknown path (404).
 */
export function allowedMethods(req: Request): string[] {
  const stack = (req.app as unknown as { router?: { stack?: RouteLayer[] } }).router?.stack ?? [];
  const methods = new Set<string>();
  for (const layer of stack) {
    if (!layer.route || isMiddlewareMount(layer.route.methods) || !layer.match(req.path)) continue;
    for (const [method, enabled] of Object.entries(layer.route.methods)) {
      if (enabled && method !== '_all') methods.add(method.toUpperCase());
    }
  }
  if (methods.has('GET')) methods.add('HEAD');
  return [...methods].sort();
}
