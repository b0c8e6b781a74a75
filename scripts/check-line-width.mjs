#!/usr/bin/env node
// Biome's formatter wraps code at 140 columns but leaves comments, strings and template literals as
// they are: this catches those, in the files Biome checks (the `!` entries of biome.jsonc's
// `files.includes` are skipped here too), counting characters, not bytes.
// Usage: node scripts/check-line-width.mjs [max=140]
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const max = Number(process.argv[2] ?? 140);
const biome = JSON.parse(
  readFileSync(new URL('../biome.jsonc', import.meta.url), 'utf8')
    .split('\n')
    .filter((line) => !line.trim().startsWith('//'))
    .join('\n'),
);
/** Biome's glob subset used there: `**` (any path), `*` (within one segment). */
const globToRegex = (glob) =>
  new RegExp(
    `^${glob
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*\*\/?/g, '\0')
      .replace(/\*/g, '[^/]*')
      .replace(/\0/g, '.*')}$`,
  );
const excluded = biome.files.includes.filter((g) => g.startsWith('!')).map((g) => globToRegex(g.slice(1)));

const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '*.ts', '*.mjs'], { encoding: 'utf8' })
  .split('\n')
  .filter((f) => f !== '' && !excluded.some((re) => re.test(f)));
const long = [];
for (const file of files) {
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      const width = [...line].length;
      if (width > max) long.push(`${file}:${i + 1}: ${width} characters`);
    });
}
if (long.length > 0) {
  process.stderr.write(`Lines longer than ${max} characters (Biome does not wrap comments and strings):\n${long.join('\n')}\n`);
  process.exit(1);
}
