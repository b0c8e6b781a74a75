import { ConfigError } from '../domain/errors.js';
import { CONFIG_CONSTRAINTS, ENV_SPEC, type Config, type EnvName, type VarSpec } from './spec.js';

/**
 * Parses the environment once, at start-up. Collects every bad variable before failing so an operator
 * fixes them in one round, and never echoes a secret's value.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const name of Object.keys(ENV_SPEC) as EnvName[]) {
    const spec: VarSpec<unknown> = ENV_SPEC[name];
    const given = env[name];
    const raw = given !== undefined && given !== '' ? given : typeof spec.default === 'function' ? spec.default() : spec.default;
    if (raw === undefined) {
      out[name] = undefined;
      continue;
    }
    try {
      out[name] = spec.parser.parse(raw);
    } catch (err) {
      const why = spec.secret ? `expected ${spec.parser.form}` : (err as Error).message;
      problems.push(`${name}: ${why}`);
    }
  }
  if (problems.length === 0) {
    for (const check of CONFIG_CONSTRAINTS) {
      const problem = check(out as Config);
      if (problem) problems.push(problem);
    }
  }
  if (problems.length > 0) {
    throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`);
  }
  return Object.freeze(out) as Config;
}
