/**
 * Parsers for environment values. Each returns the typed value or throws a plain message naming the
 * expected form; `loadConfig` prefixes the variable name, so every start-up error says which variable
 * is wrong and what it should look like.
 */
export type Parser<T> = { parse: (raw: string) => T; form: string };

export const bool: Parser<boolean> = {
  form: 'true or false',
  parse(raw) {
    const v = raw.trim().toLowerCase();
    if (v === 'true' || v === '1' || v === 'yes') return true;
    if (v === 'false' || v === '0' || v === 'no') return false;
    throw new Error(`expected true or false, got "${raw}"`);
  },
};

export function int(min: number, max = Number.MAX_SAFE_INTEGER): Parser<number> {
  const form = max === Number.MAX_SAFE_INTEGER ? `an integer ≥ ${min}` : `an integer from ${min} to ${max}`;
  return {
    form,
    parse(raw) {
      const v = raw.trim();
      if (!/^-?\d+$/.test(v)) throw new Error(`expected ${form}, got "${raw}"`);
      const n = Number(v);
      if (!Number.isSafeInteger(n) || n < min || n > max) throw new Error(`expected ${form}, got "${raw}"`);
      return n;
    },
  };
}

export function oneOf<const T extends string>(values: readonly T[]): Parser<T> {
  const form = `one of ${values.join(', ')}`;
  return {
    form,
    parse(raw) {
      const v = raw.trim() as T;
      if (!values.includes(v)) throw new Error(`expected ${form}, got "${raw}"`);
      return v;
    },
  };
}

export const text: Parser<string> = {
  form: 'a non-empty string',
  parse(raw) {
    if (raw.trim() === '') throw new Error('expected a non-empty string');
    return raw.trim();
  },
};

/** An id that is safe as a path segment and in Firestore document ids. */
export const identifier: Parser<string> = {
  form: 'letters, digits, dot, dash or underscore (1-100 chars)',
  parse(raw) {
    const v = raw.trim();
    if (!/^[A-Za-z0-9._-]{1,100}$/.test(v)) {
      throw new Error(`expected letters, digits, dot, dash or underscore (1-100 chars), got "${raw}"`);
    }
    return v;
  },
};

/** 32 bytes, base64: the AES-256-GCM key for auth state at rest. */
export const key32: Parser<Buffer> = {
  form: '32 bytes encoded as base64',
  parse(raw) {
    const v = raw.trim();
    const buf = Buffer.from(v, 'base64');
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(v) || buf.length !== 32) {
      throw new Error(`expected 32 bytes encoded as base64 (e.g. \`openssl rand -base64 32\`), got ${buf.length} bytes`);
    }
    return buf;
  },
};

/** The `{env}` of `account_{env}_{random}`: no underscores, so the id never contains the thread separator `__`. */
export const envTag: Parser<string> = {
  form: 'letters, digits and single dashes (1-32 chars)',
  parse(raw) {
    const v = raw.trim();
    if (!/^[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*$/.test(v) || v.length > 32) {
      throw new Error(`expected letters, digits and single dashes (1-32 chars), got "${raw}"`);
    }
    return v;
  },
};

/** A WhatsApp Web version as `2.3000.1023456789`: three dot-separated non-negative integers. */
export const waVersion: Parser<[number, number, number]> = {
  form: 'a WhatsApp Web version such as 2.3000.1023456789',
  parse(raw) {
    const m = /^(\d{1,6})\.(\d{1,6})\.(\d{1,15})$/.exec(raw.trim());
    if (!m) throw new Error(`expected a WhatsApp Web version such as 2.3000.1023456789, got "${raw}"`);
    return [Number(m[1]), Number(m[2]), Number(m[3])];
  },
};

/** A comma-separated subset of `values` (at least one, no repeats needed), e.g. `image,video`. */
export function listOf<const T extends string>(values: readonly T[]): Parser<readonly T[]> {
  const form = `a comma-separated list of ${values.join(', ')}`;
  return {
    form,
    parse(raw) {
      const items = raw
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
      const bad = items.filter((s) => !values.includes(s as T));
      if (items.length === 0 || bad.length > 0) throw new Error(`expected ${form}, got "${raw}"`);
      return Object.freeze([...new Set(items as T[])]);
    },
  };
}

/**
 * Origins a browser may call the API from (`CORS_ORIGINS`): `scheme://host[:port]` each, comma-separated,
 * exactly as a browser sends them in `Origin` (no path, no trailing slash), or `*` alone for any origin.
 */
export const origins: Parser<readonly string[]> = {
  form: 'a comma-separated list of origins such as https://inbox.example.com, or *',
  parse(raw) {
    const items = raw
      .split(',')
      .map((v) => v.trim())
      .filter((v) => v !== '');
    if (items.length === 0) throw new Error('expected at least one origin');
    if (items.includes('*')) {
      if (items.length > 1) throw new Error('expected * alone or a list of origins, not both');
      return ['*'];
    }
    for (const item of items) {
      let url: URL;
      try {
        url = new URL(item);
      } catch {
        throw new Error(`expected an origin such as https://inbox.example.com, got "${item}"`);
      }
      if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.origin !== item) {
        throw new Error(`expected an origin such as https://inbox.example.com (scheme, host and port only), got "${item}"`);
      }
    }
    return items;
  },
};

/** An absolute http(s) URL without credentials in it (secrets never go in URLs). */
export const httpUrl: Parser<string> = {
  form: 'an http(s) URL',
  parse(raw) {
    let url: URL;
    try {
      url = new URL(raw.trim());
    } catch {
      throw new Error(`expected an http(s) URL, got "${raw}"`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`expected an http(s) URL, got "${url.protocol}"`);
    if (url.username || url.password) throw new Error('expected a URL without user name or password in it');
    return url.href;
  },
};

/**
 * An http(s) URL other processes reach this one at (`INSTANCE_URL`, `WA_SIM_SERVER`): scheme, host and
 * optional port and path, no credentials, query or fragment (they would leak into logs and the
 * registry); a trailing slash is dropped so paths can be appended.
 */
export const baseUrl: Parser<string> = {
  form: 'an http:// or https:// URL such as http://10.0.0.5:8080',
  parse(raw) {
    const v = raw.trim();
    let u: URL;
    try {
      u = new URL(v);
    } catch {
      throw new Error(`expected an http:// or https:// URL such as http://10.0.0.5:8080, got "${raw}"`);
    }
    if ((u.protocol !== 'http:' && u.protocol !== 'https:') || u.username || u.password || u.search || u.hash) {
      throw new Error(`expected an http:// or https:// URL without credentials, query or fragment, got "${raw}"`);
    }
    return v.replace(/\/+$/, '');
  },
};
