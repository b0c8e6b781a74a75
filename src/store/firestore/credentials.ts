import { readFileSync } from 'node:fs';
import { applicationDefault, cert, type AppOptions, type Credential } from 'firebase-admin/app';
import { ConfigError, StoreError } from '../../domain/errors.js';

/**
 * Where the Firestore connection's identity comes from, in order:
 * 1. `FIREBASE_SERVICE_ACCOUNT_JSON`: the service-account JSON itself (a value starting with `{`) or a
 *    path to a file holding it;
 * 2. `FIRESTORE_EMULATOR_HOST` without a service account: no credential at all (the emulator accepts
 *    any caller), project id from `GOOGLE_CLOUD_PROJECT`/`GCLOUD_PROJECT` or `wasync-emulator`;
 * 3. otherwise Google application default credentials (GOOGLE_APPLICATION_CREDENTIALS, gcloud, the
 *    metadata server).
 * firebase-admin itself routes every request to `FIRESTORE_EMULATOR_HOST` when that is set.
 *
 * The variable holds a private key: no error message ever includes its value or a parser message
 * quoting it (V8's JSON.parse errors quote the input).
 */

export type CredentialSource = 'service-account' | 'emulator' | 'application-default';

export interface CredentialEnv {
  FIREBASE_SERVICE_ACCOUNT_JSON?: string | undefined;
  FIRESTORE_EMULATOR_HOST?: string | undefined;
  GOOGLE_CLOUD_PROJECT?: string | undefined;
  GCLOUD_PROJECT?: string | undefined;
}

export interface ResolvedFirestoreApp {
  options: AppOptions;
  source: CredentialSource;
  projectId: string | undefined;
  emulatorHost: string | undefined;
}

export const DEFAULT_EMULATOR_PROJECT = 'wasync-emulator';
const VAR = 'FIREBASE_SERVICE_ACCOUNT_JSON';

export interface ServiceAccount {
  projectId: string;
  clientEmail: string;
  privateKey: string;
}

export function resolveFirestoreApp(
  env: CredentialEnv,
  readFile: (path: string) => string = (p) => readFileSync(p, 'utf8'),
): ResolvedFirestoreApp {
  const emulatorHost = nonEmpty(env.FIRESTORE_EMULATOR_HOST);
  const envProject = nonEmpty(env.GOOGLE_CLOUD_PROJECT) ?? nonEmpty(env.GCLOUD_PROJECT);
  const raw = env.FIREBASE_SERVICE_ACCOUNT_JSON;

  if (raw !== undefined && raw.trim() !== '') {
    const account = parseServiceAccount(raw, readFile);
    let credential: Credential;
    try {
      // cert() parses the PEM key at once: a broken key fails here, not at the first write.
      credential = cert(account);
    } catch {
      throw new ConfigError(`${VAR}: its private_key cannot be parsed as a PEM private key`);
    }
    return {
      options: { credential, projectId: account.projectId },
      source: 'service-account',
      projectId: account.projectId,
      emulatorHost,
    };
  }
  if (raw !== undefined) throw new ConfigError(`${VAR} is set but empty: unset it to use application default credentials`);

  if (emulatorHost !== undefined) {
    const projectId = envProject ?? DEFAULT_EMULATOR_PROJECT;
    return { options: { projectId }, source: 'emulator', projectId, emulatorHost };
  }
  return {
    options: { credential: applicationDefault(), ...(envProject ? { projectId: envProject } : {}) },
    source: 'application-default',
    projectId: envProject,
    emulatorHost,
  };
}

export function parseServiceAccount(raw: string, readFile: (path: string) => string): ServiceAccount {
  const value = raw.trim();
  let text: string;
  let origin: string;
  if (value.startsWith('{')) {
    text = value;
    origin = `${VAR} (read as JSON because it starts with "{")`;
  } else {
    origin = `the file ${VAR} names (read as a path because it does not start with "{")`;
    try {
      text = readFile(value);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
      throw new ConfigError(`${VAR}: ${origin} cannot be read (${code}); give the service-account JSON itself or a readable path to it`);
    }
  }

  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ConfigError(`${VAR}: ${origin} is not valid JSON`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError(`${VAR}: ${origin} is not a JSON object`);
  }
  const o = parsed as Record<string, unknown>;
  if (o.type !== undefined && o.type !== 'service_account') {
    throw new ConfigError(
      `${VAR}: ${origin} is a "${String(o.type).slice(0, 40)}" credential, not a service account key ("type": "service_account")`,
    );
  }
  const missing = ['project_id', 'client_email', 'private_key'].filter((k) => typeof o[k] !== 'string' || (o[k] as string).trim() === '');
  if (missing.length > 0) throw new ConfigError(`${VAR}: ${origin} lacks ${missing.join(', ')}`);
  const privateKey = o.private_key as string;
  if (!privateKey.includes('PRIVATE KEY')) throw new ConfigError(`${VAR}: ${origin} has a private_key that is not a PEM private key`);
  return { projectId: o.project_id as string, clientEmail: o.client_email as string, privateKey };
}

const NETWORK_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENETUNREACH', 'EHOSTUNREACH']);

/**
 * Fails start-up on a credential that cannot work (a malformed or revoked key, no application
 * default credentials) instead of on the first write minutes later: fetches one access token.
 * A network failure is not a configuration problem and says so.
 */
export async function verifyCredential(resolved: ResolvedFirestoreApp, timeoutMs = 15_000): Promise<void> {
  const credential: Credential | undefined = resolved.options.credential;
  if (resolved.source === 'emulator' || credential === undefined) return;
  const what = resolved.source === 'service-account' ? VAR : `application default credentials (${VAR} is unset)`;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      credential.getAccessToken(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(Object.assign(new Error(`no token within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })), timeoutMs);
        timer.unref();
      }),
    ]);
  } catch (err) {
    const code = networkCode(err);
    if (code !== null) throw new StoreError(`firestore: could not reach Google to verify ${what} (${code})`, { cause: err });
    throw new ConfigError(`firestore: ${what} cannot be used: ${safeMessage(err)}`);
  } finally {
    if (timer) clearTimeout(timer);
  }
}

function networkCode(err: unknown): string | null {
  for (let e: unknown = err, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return code;
  }
  return null;
}

/** The first line of an auth library error, which names the problem but never the key material. */
function safeMessage(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const line = message.split('\n', 1)[0] ?? '';
  return line.replace(/-----BEGIN[^-]*-----[\s\S]*?(-----END[^-]*-----)?/g, '[key]').slice(0, 300);
}

function nonEmpty(value: string | undefined): string | undefined {
  return value !== undefined && value.trim() !== '' ? value.trim() : undefined;
}
