import { ENV_SPEC, type EnvName, type VarSpec } from './spec.js';

/** The README's configuration table, rendered from the spec so the two cannot drift (a test compares them). */
export function renderConfigTable(): string {
  const rows = (Object.keys(ENV_SPEC) as EnvName[]).map((name) => {
    const spec: VarSpec<unknown> = ENV_SPEC[name];
    const def = spec.default === undefined ? '—' : typeof spec.default === 'function' ? '`hostname-pid`' : `\`${spec.default}\``;
    return `| \`${name}\` | ${def} | ${spec.parser.form} | ${spec.doc} |`;
  });
  return ['| Variable | Default | Form | Description |', '|---|---|---|---|', ...rows].join('\n');
}

export const TABLE_START = '<!-- config-table:start -->';
export const TABLE_END = '<!-- config-table:end -->';

export function withConfigTable(readme: string): string {
  const start = readme.indexOf(TABLE_START);
  const end = readme.indexOf(TABLE_END);
  if (start < 0 || end < start) throw new Error('README has no config-table markers');
  return `${readme.slice(0, start + TABLE_START.length)}\n${renderConfigTable()}\n${readme.slice(end)}`;
}
