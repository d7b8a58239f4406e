/** A request target the router may route: its path, exactly as sent, and its query. */
export interface RequestTarget {
  path: string;
  query: string;
}

/** Characters RFC 3986 allows in a path (pchar and '/'), percent signs included. */
const PATH_CHARACTERS = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*$/;
/** Percent-encoded dot, slash, backslash and NUL: never sent by a well-behaved client, and a classic way past a path check. */
const ENCODED_TRICK = /%(2e|2f|5c|00)/i;
const BAD_PERCENT = /%(?![0-9A-Fa-f]{2})/;
const ABSOLUTE_FORM = /^https?:\/\/[^/?#]*/i;

/**
 * Parses a request target, refusing what could reach a resource by another
 * spelling of its path. Nothing is decoded or normalized: a route matches the
 * path as sent, so a refused spelling never depends on how a handler would
 * read it. Returns a reason instead for a target that is refused (400).
 *
 * Absolute-form (`GET http://host/path`) is accepted, as RFC 9112 3.2.2 asks
 * of servers, and its authority ignored: this listener has no virtual hosts.
 */
export function parseRequestTarget(target: string | undefined): RequestTarget | { refused: string } {
  if (!target) return { refused: 'missing request target' };
  let rest = target;
  const absolute = ABSOLUTE_FORM.exec(rest);
  if (absolute) {
    rest = rest.slice(absolute[0].length);
    // An empty path is "/" (RFC 9112 section 3.2.1).
    if (!rest.startsWith('/')) rest = `/${rest}`;
  }
  if (!rest.startsWith('/')) return { refused: 'request target must be a path' };
  if (rest.includes('#')) return { refused: 'request target must not carry a fragment' };
  const q = rest.indexOf('?');
  const path = q < 0 ? rest : rest.slice(0, q);
  const query = q < 0 ? '' : rest.slice(q + 1);
  if (!PATH_CHARACTERS.test(path) || BAD_PERCENT.test(path) || ENCODED_TRICK.test(path)) {
    return { refused: 'request path has characters or escapes that are not allowed' };
  }
  const segments = path.split('/').slice(1);
  // A trailing slash is an ordinary (unknown) path; an empty segment inside is a spelling trick.
  const inner = segments[segments.length - 1] === '' ? segments.slice(0, -1) : segments;
  if (inner.some((s) => s === '' || s === '.' || s === '..')) {
    return { refused: 'request path must not have empty, "." or ".." segments' };
  }
  return { path, query };
}
