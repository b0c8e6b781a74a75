import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import type { Ignore } from '@balena/dockerignore';
import { validate, ValidationSeverity, type ValidatorSettings } from 'dockerfile-utils';
import { describe, expect, it } from 'vitest';
import { DOCKERFILE, REPO, execForm, readDockerfile } from './dockerfile-model.js';

const ignore = createRequire(import.meta.url)('@balena/dockerignore') as () => Ignore;

const model = readDockerfile();
const runtime = model.stages.at(-1)!;
const steps = (keyword: string) => runtime.steps.filter((s) => s.keyword === keyword);

describe('deploy/Dockerfile, statically', () => {
  it("passes dockerfile-utils' validator with every rule raised to an error", () => {
    const strict: ValidatorSettings = {
      deprecatedMaintainer: ValidationSeverity.ERROR,
      directiveCasing: ValidationSeverity.ERROR,
      emptyContinuationLine: ValidationSeverity.ERROR,
      instructionCasing: ValidationSeverity.ERROR,
      instructionCmdMultiple: ValidationSeverity.ERROR,
      instructionEntrypointMultiple: ValidationSeverity.ERROR,
      instructionHealthcheckMultiple: ValidationSeverity.ERROR,
      instructionJSONInSingleQuotes: ValidationSeverity.ERROR,
      instructionWorkdirRelative: ValidationSeverity.ERROR,
    };
    const problems = validate(model.text, strict).map((d) => `line ${d.range.start.line + 1}: ${d.message}`);
    expect(problems).toEqual([]);
    // The validator catches what it should: a broken copy of the file fails.
    expect(validate(model.text.replace('HEALTHCHECK --interval=30s', 'HEALTHCHECK --intervl=30s'), strict)).not.toEqual([]);
    expect(validate(model.text.replace('STOPSIGNAL SIGTERM', 'STOPSIGNAL'), strict)).not.toEqual([]);
  });

  it("builds every stage on one pinned Node LTS slim image that package.json's engines accept", () => {
    const images = new Set(model.stages.map((s) => s.image));
    expect(images.size).toBe(1);
    const [image] = [...images];
    const m = /^node:(\d+)\.(\d+)\.(\d+)-(bookworm|trixie)-slim(@sha256:[0-9a-f]{64})?$/.exec(image!);
    expect(m, `${image} is not node:X.Y.Z-<debian>-slim`).not.toBeNull();
    const major = Number(m![1]);
    expect(major % 2, 'LTS lines are even').toBe(0);
    const engines = (JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { engines: { node: string } }).engines.node;
    const [, min, maxExclusive] = /^>=(\d+)\.\d+ <(\d+)$/.exec(engines)!;
    expect(major).toBeGreaterThanOrEqual(Number(min));
    expect(major).toBeLessThan(Number(maxExclusive));
    expect(model.stages.map((s) => s.name)).toEqual(['deps', 'build', 'runtime']);
  });

  it('installs production dependencies with npm ci --omit=dev and ships only them and the build', () => {
    const runs = model.stages.flatMap((s) => s.steps.filter((x) => x.keyword === 'RUN').map((x) => x.text));
    expect(runs).toContain('npm ci --omit=dev --no-audit --no-fund');
    expect(runs.some((r) => /\bnpm (install|i)\b/.test(r))).toBe(false);
    const copies = steps('COPY').map((s) => s.copy!);
    expect(copies).toContainEqual({ from: 'deps', sources: ['/app/node_modules'], dest: './node_modules' });
    expect(copies).toContainEqual({ from: 'build', sources: ['/app/dist/src'], dest: './dist/src' });
    // The operator console's static files (built by Vite in the build stage).
    expect(copies).toContainEqual({ from: 'build', sources: ['/app/dist/web'], dest: './dist/web' });
    expect(copies.filter((c) => c.from === null).flatMap((c) => c.sources)).toEqual(['package.json']);
  });

  it('runs as a non-root user with /data as its volume and data directory', () => {
    expect(steps('USER').map((s) => s.text)).toEqual(['node']);
    const env = Object.assign({}, ...steps('ENV').map((s) => s.env)) as Record<string, string>;
    expect(env).toMatchObject({ NODE_ENV: 'production', DATA_DIR: '/data', PORT: '8080', HOST: '0.0.0.0' });
    expect(steps('VOLUME').map((s) => s.text)).toEqual(['["/data"]']);
    // USER comes after the step that hands /data to that user.
    const chown = runtime.steps.findIndex((s) => s.keyword === 'RUN' && /chown node:node \/data/.test(s.text));
    const user = runtime.steps.findIndex((s) => s.keyword === 'USER');
    expect(chown).toBeGreaterThanOrEqual(0);
    expect(user).toBeGreaterThan(chown);
  });

  it('has tini as PID 1, SIGTERM as stop signal and a healthcheck on /ready', () => {
    expect(execForm(steps('ENTRYPOINT')[0]!.text)).toEqual(['/usr/bin/tini', '--']);
    expect(runtime.steps.some((s) => s.keyword === 'RUN' && /apt-get install -y --no-install-recommends tini/.test(s.text))).toBe(true);
    expect(execForm(steps('CMD')[0]!.text)).toEqual(['node', 'dist/src/main.js']);
    expect(steps('STOPSIGNAL').map((s) => s.text)).toEqual(['SIGTERM']);
    const health = steps('HEALTHCHECK')[0]!;
    // `wasync ready` is GET /ready (src/cli/commands/operations.ts); the replay test runs it.
    expect(execForm(health.text)).toEqual(['wasync', 'ready']);
    const seconds = (flag: string) => Number(/^(\d+)s$/.exec(health.flags[flag] ?? '')?.[1]);
    expect(seconds('timeout')).toBeLessThan(seconds('interval'));
    expect(seconds('start-period')).toBeGreaterThan(0);
  });

  it('.dockerignore lets in exactly what the COPY steps take, and never data, env files or node_modules', () => {
    const rules = readFileSync(path.join(REPO, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    const ig = ignore().add(rules);
    const copied = model.stages.flatMap((s) => s.steps.filter((x) => x.copy && x.copy.from === null).flatMap((x) => x.copy!.sources));
    for (const source of copied) expect(ig.ignores(source), source).toBe(false);
    expect(ig.ignores('src/main.ts')).toBe(false);
    expect(ig.ignores('web/index.html')).toBe(false);
    for (const secret of [
      '.env',
      'deploy/.env',
      'data/wasync.db',
      'data/api-token',
      'node_modules/pino/package.json',
      'dist/src/main.js',
      '.git/config',
      'deploy/firebase-service-account.json',
    ]) {
      expect(ig.ignores(secret), secret).toBe(true);
    }
    expect(path.relative(REPO, DOCKERFILE)).toBe(path.join('deploy', 'Dockerfile'));
  });
});
