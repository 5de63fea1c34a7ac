/**
 * Postgres refuses U+0000 and unpaired UTF-16 surrogates in `text` and `jsonb` (the
 * first is not allowed in its strings, the second has no UTF-8 form). A request that
 * carried one into a query would fail there, as a 500; so every value a request brings
 * is checked when it is validated. Both walks are iterative: a deeply nested value
 * cannot overflow the stack here.
 */
export function isStorableText(text: string): boolean {
  return text.isWellFormed() && !text.includes('\u0000');
}

export const UNSTORABLE_MESSAGE =
  'holds a NUL character or an unpaired surrogate, which cannot be stored';

/**
 * JSON Pointers (under `base`) of every string in `value`, member names included, that
 * Postgres cannot store; sorted, empty when there is none.
 */
export function unstorablePaths(value: unknown, base = ''): string[] {
  // The common case allocates no paths: about as cheap as JSON.stringify, on the ingest path.
  return isStorable(value) ? [] : collectUnstorable(value, base);
}

function isStorable(value: unknown): boolean {
  const pending = [value];
  while (pending.length > 0) {
    const current = pending.pop();
    if (typeof current === 'string') {
      if (!isStorableText(current)) return false;
    } else if (Array.isArray(current)) {
      // An index loop: for-in over an array is several times slower.
      for (let i = 0; i < current.length; i++) pending.push(current[i]);
    } else if (current !== null && typeof current === 'object') {
      for (const name in current) {
        if (!isStorableText(name)) return false;
        pending.push((current as Record<string, unknown>)[name]);
      }
    }
  }
  return true;
}

function collectUnstorable(value: unknown, base: string): string[] {
  const found: string[] = [];
  const pending: [unknown, string][] = [[value, base]];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [current, path] = next;
    if (typeof current === 'string') {
      if (!isStorableText(current)) found.push(path);
    } else if (current !== null && typeof current === 'object') {
      for (const [name, item] of Object.entries(current)) {
        const itemPath = `${path}/${pointerToken(name)}`;
        if (isStorableText(name)) pending.push([item, itemPath]);
        else found.push(itemPath);
      }
    }
  }
  return found.sort();
}

/** RFC 6901: `~` and `/` in a member name are written `~0` and `~1`. */
function pointerToken(name: string): string {
  return name.replaceAll('~', '~0').replaceAll('/', '~1');
}
