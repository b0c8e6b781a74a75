export { loadConfig } from './load.js';
export { ENV_SPEC, type Config, type EnvName } from './spec.js';
