/**
 * 405 with `Allow`: the paths of every route, kept as they are added (an onRoute hook), so
 * that a request no route answers learns whether the path exists with other methods (405
 * naming them) or not at all (404).
 */
import type { RouteOptions } from 'fastify';

const escape = (s: string): string => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&');

/** `/v1/offices/:office/holder` → a RegExp matching concrete paths (`*` matches the rest). */
function patternOf(url: string): RegExp {
  const body = url
    .split('/')
    .map((part) => (part.startsWith(':') ? '[^/]+' : part === '*' ? '.*' : escape(part).replace(/\*/g, '.*')))
    .join('/');
  return new RegExp(`^${body}$`);
}

export class RouteMethods {
  /** Every route as added (HEAD ones included): the route table tests walk (app.routeTable). */
  readonly table: RouteOptions[] = [];
  private readonly byUrl = new Map<string, { pattern: RegExp; methods: Set<string> }>();

  /** onRoute. */
  readonly add = (route: RouteOptions): void => {
    this.table.push(route);
    let entry = this.byUrl.get(route.url);
    if (!entry) {
      entry = { pattern: patternOf(route.url), methods: new Set() };
      this.byUrl.set(route.url, entry);
    }
    for (const m of Array.isArray(route.method) ? route.method : [route.method]) entry.methods.add(m.toUpperCase());
    if (entry.methods.has('GET')) entry.methods.add('HEAD');
  };

  /** The methods some route answers on this path, sorted; empty when no route has the path. */
  allowed(path: string): string[] {
    const methods = new Set<string>();
    for (const { pattern, methods: ms } of this.byUrl.values()) if (pattern.test(path)) for (const m of ms) methods.add(m);
    return [...methods].sort();
  }
}
