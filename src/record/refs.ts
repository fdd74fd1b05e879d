/**
 * Replacing the entity references of a fact's data (found by events/facts/refs.ts) by the
 * ids they resolved to, so stored facts name entities by id only.
 */
/** A copy of `data` with the value at each site replaced (structure shared where untouched). */
export function replaceRefs(data: Record<string, unknown>, replacements: ReadonlyArray<{ path: (string | number)[]; id: string }>): Record<string, unknown> {
  const root: Record<string, unknown> = { ...data };
  for (const { path, id } of replacements) {
    let node: Record<string | number, unknown> = root;
    for (let i = 0; i < path.length - 1; i++) {
      const key = path[i] as string | number;
      const child = node[key] as Record<string | number, unknown>;
      const copy = (Array.isArray(child) ? [...child] : { ...child }) as Record<string | number, unknown>;
      node[key] = copy;
      node = copy;
    }
    node[path[path.length - 1] as string | number] = id;
  }
  return root;
}
