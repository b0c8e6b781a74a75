import { readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ENV_SPEC, loadConfig } from '../../src/config/index.js';
import { renderEnvExample } from '../../src/config/env-example.js';

const FILE = new URL('../../deploy/env.example', import.meta.url);

describe('deploy/env.example', () => {
  const text = readFileSync(FILE, 'utf8');

  it('is the one rendered from the config spec (regenerate with `npm run docs:env`)', () => {
    expect(text).toBe(renderEnvExample());
  });

  it('names every variable once, each after a one-line doc comment', () => {
    const lines = text.split('\n');
    for (const name of Object.keys(ENV_SPEC)) {
      const at = lines.flatMap((l, i) => (l.startsWith(`#${name}=`) ? [i] : []));
      expect(at, name).toHaveLength(1);
      expect(lines[at[0]! - 1], name).toMatch(/^# \S.*\)$/);
    }
    const named = lines.filter((l) => /^#[A-Z0-9_]+=/.test(l)).map((l) => l.slice(1, l.indexOf('=')));
    expect(named.sort()).toEqual(Object.keys(ENV_SPEC).sort());
  });

  it('uncommented whole, it parses (as node --env-file and systemd read it) to the defaults', () => {
    const uncommented = text.replace(/^#([A-Z0-9_]+=)/gm, '$1');
    const env = parseEnv(uncommented);
    expect(Object.keys(env).sort()).toEqual(Object.keys(ENV_SPEC).sort());
    // systemd's EnvironmentFile takes NAME=value lines; no quoting, no `export`, no inline comments.
    for (const line of uncommented.split('\n').filter((l) => l && !l.startsWith('#'))) expect(line).toMatch(/^[A-Z][A-Z0-9_]*=[^\s"'#]*$/);
    const fromFile = { ...loadConfig(env), INSTANCE_ID: 'x' };
    const defaults = { ...loadConfig({}), INSTANCE_ID: 'x' };
    expect(fromFile).toEqual(defaults);
  });
});
