import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getApps } from 'firebase-admin/app';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { ConfigError } from '../../src/domain/errors.js';
import { createLogger } from '../../src/logging/logger.js';
import { DEFAULT_EMULATOR_PROJECT, resolveFirestoreApp, verifyCredential } from '../../src/store/firestore/credentials.js';
import { openFirestoreStore } from '../../src/store/firestore/index.js';

const VAR = 'FIREBASE_SERVICE_ACCOUNT_JSON';
const { privateKey } = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
});
const SECRET_MARKER = privateKey.split('\n')[1]!.slice(0, 24);
const account = {
  type: 'service_account',
  project_id: 'wasync-prod',
  private_key_id: 'abc123',
  private_key: privateKey,
  client_email: 'wasync@wasync-prod.iam.gserviceaccount.com',
};
const dir = mkdtempSync(join(tmpdir(), 'wasync-cred-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A ConfigError that names the variable and leaks nothing of the key. */
function expectConfigError(fn: () => unknown, ...mentions: string[]): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(ConfigError);
  const message = (caught as Error).message;
  expect(message).toContain(VAR);
  for (const m of mentions) expect(message).toContain(m);
  expect(message).not.toContain(SECRET_MARKER);
  expect(message).not.toContain('BEGIN PRIVATE KEY');
}

describe('resolveFirestoreApp', () => {
  it('takes the service-account JSON itself', () => {
    const resolved = resolveFirestoreApp({ [VAR]: JSON.stringify(account) });
    expect(resolved).toMatchObject({ source: 'service-account', projectId: 'wasync-prod', options: { projectId: 'wasync-prod' } });
    expect(resolved.options.credential).toBeDefined();
  });

  it('takes a path to the JSON file', () => {
    const file = join(dir, 'sa.json');
    writeFileSync(file, JSON.stringify(account));
    expect(resolveFirestoreApp({ [VAR]: `  ${file}\n` })).toMatchObject({ source: 'service-account', projectId: 'wasync-prod' });
  });

  it('uses the service account with the emulator too (the emulator ignores it)', () => {
    expect(resolveFirestoreApp({ [VAR]: JSON.stringify(account), FIRESTORE_EMULATOR_HOST: 'localhost:8080' })).toMatchObject({
      source: 'service-account',
      emulatorHost: 'localhost:8080',
    });
  });

  it('needs no credential for the emulator: project from the environment or a default', () => {
    expect(resolveFirestoreApp({ FIRESTORE_EMULATOR_HOST: 'localhost:8080' })).toMatchObject({
      source: 'emulator',
      projectId: DEFAULT_EMULATOR_PROJECT,
      options: { projectId: DEFAULT_EMULATOR_PROJECT },
    });
    expect(resolveFirestoreApp({ FIRESTORE_EMULATOR_HOST: 'localhost:8080', GOOGLE_CLOUD_PROJECT: 'p1' }).projectId).toBe('p1');
    expect(resolveFirestoreApp({ FIRESTORE_EMULATOR_HOST: 'localhost:8080', GCLOUD_PROJECT: 'p2' }).projectId).toBe('p2');
  });

  it('falls back to application default credentials', () => {
    const resolved = resolveFirestoreApp({});
    expect(resolved).toMatchObject({ source: 'application-default', projectId: undefined });
    expect(resolved.options.credential).toBeDefined();
  });

  it('malformed JSON: a ConfigError that does not quote the value', () => {
    expectConfigError(() => resolveFirestoreApp({ [VAR]: JSON.stringify(account).slice(0, -5) }), 'not valid JSON');
  });

  it('a path that does not exist: a ConfigError that does not echo the value', () => {
    const value = `${dir}/missing-${SECRET_MARKER}.json`;
    let message = '';
    try {
      resolveFirestoreApp({ [VAR]: value });
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      message = (err as Error).message;
    }
    expect(message).toContain(VAR);
    expect(message).toContain('ENOENT');
    expect(message).not.toContain(value);
  });

  it('a file that is not JSON', () => {
    const file = join(dir, 'bad.json');
    writeFileSync(file, `private_key=${privateKey}`);
    expectConfigError(() => resolveFirestoreApp({ [VAR]: file }), 'not valid JSON');
  });

  it.each([
    ['project_id', 'project_id'],
    ['client_email', 'client_email'],
    ['private_key', 'private_key'],
  ])('a key without %s names what is missing', (field) => {
    const { [field as keyof typeof account]: _dropped, ...rest } = account;
    expectConfigError(() => resolveFirestoreApp({ [VAR]: JSON.stringify(rest) }), field);
  });

  it('another kind of credential is refused', () => {
    expectConfigError(() => resolveFirestoreApp({ [VAR]: JSON.stringify({ ...account, type: 'authorized_user' }) }), 'authorized_user');
    const file = join(dir, 'array.json');
    writeFileSync(file, '[1,2]');
    expectConfigError(() => resolveFirestoreApp({ [VAR]: file }), 'not a JSON object');
  });

  it('a private key that is not a key', () => {
    expectConfigError(() => resolveFirestoreApp({ [VAR]: JSON.stringify({ ...account, private_key: 'hunter2' }) }), 'PEM');
    const broken = '-----BEGIN PRIVATE KEY-----\nAAAAnotakey\n-----END PRIVATE KEY-----\n';
    expectConfigError(() => resolveFirestoreApp({ [VAR]: JSON.stringify({ ...account, private_key: broken }) }), 'cannot be parsed');
  });

  it('an empty value is refused rather than silently ignored', () => {
    expectConfigError(() => resolveFirestoreApp({ [VAR]: '   ' }), 'empty');
  });
});

describe('start-up', () => {
  const saved = process.env.GOOGLE_APPLICATION_CREDENTIALS;
  afterEach(() => {
    if (saved === undefined) delete process.env.GOOGLE_APPLICATION_CREDENTIALS;
    else process.env.GOOGLE_APPLICATION_CREDENTIALS = saved;
  });

  it('missing application default credentials fail start-up with a ConfigError that says what to set', async () => {
    process.env.GOOGLE_APPLICATION_CREDENTIALS = join(dir, 'nope.json');
    const err = await verifyCredential(resolveFirestoreApp({})).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain('application default credentials');
    expect((err as Error).message).toContain(VAR);

    const config = loadConfig({ STORE: 'firestore' });
    await expect(openFirestoreStore(config, createLogger({ level: 'silent' }), {})).rejects.toBeInstanceOf(ConfigError);
  });

  it('a malformed FIREBASE_SERVICE_ACCOUNT_JSON fails start-up before any App is created', async () => {
    const config = loadConfig({ STORE: 'firestore', [VAR]: '{"type":"service_account",' });
    const apps = getApps().length;
    const err = await openFirestoreStore(config, createLogger({ level: 'silent' }), {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain(VAR);
    expect(getApps().length).toBe(apps);
  });
});
