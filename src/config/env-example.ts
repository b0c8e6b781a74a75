import { ENV_SPEC, type EnvName, type VarSpec } from './spec.js';

/**
 * `deploy/env.example`, rendered from the spec so that it cannot drift (a test compares them;
 * `npm run docs:env` rewrites it). Every variable is commented out with its default, so a copy
 * changes nothing until a line is uncommented: later default changes still reach that deployment.
 * The file is read by systemd's `EnvironmentFile=`, Docker's `--env-file`, compose's `env_file:`
 * and the pm2 ecosystem file alike, so it keeps to what all four parse: `NAME=value`, no quotes,
 * no `export`, comments on their own lines.
 */
export function renderEnvExample(): string {
  const head = [
    '# wasync environment file, generated from src/config/spec.ts by `npm run docs:env`: do not edit here.',
    '# Copy it to `.env` (mode 0600: it may hold secrets), uncomment what you change.',
    "# Every line shows the default; an empty value means none (optional). The runbook's deploy checklist",
    "# variables (AUTO_BACKFILL_*, INSTANCE_ID) have the runbook's defaults: set them only to change them.",
    '# INSTANCE_ID must differ per process: set it per instance (unit, ecosystem file, compose service),',
    '# not in a file several instances share.',
  ];
  const blocks = (Object.keys(ENV_SPEC) as EnvName[]).map((name) => {
    const spec: VarSpec<unknown> = ENV_SPEC[name];
    const value = typeof spec.default === 'string' ? spec.default : '';
    const notes = [spec.parser.form, typeof spec.default === 'function' ? 'default: hostname-pid' : '', spec.secret ? 'secret' : '']
      .filter(Boolean)
      .join('; ');
    return [`# ${oneLine(spec.doc)} (${notes})`, `#${name}=${value}`].join('\n');
  });
  return `${[head.join('\n'), ...blocks].join('\n\n')}\n`;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
