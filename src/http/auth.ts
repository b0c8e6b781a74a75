import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Bearer-token check. Both sides are hashed first so `timingSafeEqual` always compares equal-length
 * buffers: comparing the raw strings would leak the token's length through the early length check.
 */
export function createTokenCheck(apiToken: string): (authorizationHeader: string) => boolean {
  if (apiToken.length === 0) throw new Error('the API token must not be empty');
  const expected = digest(apiToken);
  return (header) => {
    const match = /^bearer +(\S+) *$/i.exec(header);
    if (!match?.[1]) return false;
    return timingSafeEqual(digest(match[1]), expected);
  };
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}
