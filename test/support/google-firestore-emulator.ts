import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { freePort } from './free-port.js';

/**
 * Google's Cloud Firestore emulator (the Java one the Google Cloud SDK ships), run as a child process
 * on a free loopback port. Unlike an in-process imitation it isolates transactions, answers
 * collection-group queries and evaluates security rules, so the tests run on it.
 *
 * Used by the test suite's globalSetup (one emulator per `vitest run`) and by bench/firestore.ts.
 */

/** The Debian package that installs the emulator (Google's Cloud SDK apt repository). */
export const EMULATOR_PACKAGE = 'google-cloud-cli-firestore-emulator';
const JAR = path.join('platform', 'cloud-firestore-emulator', 'cloud-firestore-emulator.jar');
const DEBIAN_SDK_ROOT = '/usr/lib/google-cloud-sdk';

export class FirestoreEmulatorMissingError extends Error {
  override readonly name = 'FirestoreEmulatorMissingError';
}

export interface GoogleFirestoreEmulator {
  /** `127.0.0.1:<port>`: what FIRESTORE_EMULATOR_HOST takes. */
  readonly host: string;
  readonly port: number;
  /** From spawning the JVM to the first answered HTTP request. */
  readonly startupMs: number;
  stop(): Promise<void>;
}

/**
 * The emulator's jar: under `CLOUDSDK_ROOT_DIR`, next to a `gcloud` on the PATH, or where the Debian
 * package puts it. null when none is there.
 */
export function findEmulatorJar(env: NodeJS.ProcessEnv = process.env, fallbackRoots: readonly string[] = [DEBIAN_SDK_ROOT]): string | null {
  const roots: string[] = [];
  if (env.CLOUDSDK_ROOT_DIR) roots.push(env.CLOUDSDK_ROOT_DIR);
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    const gcloud = dir ? path.join(dir, 'gcloud') : '';
    if (gcloud && existsSync(gcloud)) roots.push(path.resolve(path.dirname(realpathSync(gcloud)), '..'));
  }
  roots.push(...fallbackRoots);
  for (const root of roots) {
    const jar = path.join(root, JAR);
    if (existsSync(jar)) return jar;
  }
  return null;
}

/** The one message a machine without the emulator gets, naming what to install. */
export function missingEmulatorMessage(detail: string): string {
  return (
    `Google's Cloud Firestore emulator is needed by the Firestore tests and ${detail}. ` +
    `Install the Debian package ${EMULATOR_PACKAGE} (Google Cloud SDK apt repository; it brings the emulator jar ` +
    `under ${DEBIAN_SDK_ROOT}/${JAR}) and a Java runtime (openjdk-17-jre-headless), ` +
    'or point WASYNC_TEST_FIRESTORE_EMULATOR_HOST at an emulator already running (docs/firestore.md).'
  );
}

/**
 * Starts the emulator on a free port and resolves once it answers HTTP. The port is chosen before the
 * JVM binds it, so another process can take it in between: a start that fails to bind is retried on
 * another port.
 */
export async function startGoogleFirestoreEmulator(
  opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv; fallbackRoots?: readonly string[] } = {},
): Promise<GoogleFirestoreEmulator> {
  const env = opts.env ?? process.env;
  const jar = findEmulatorJar(env, opts.fallbackRoots);
  if (!jar)
    throw new FirestoreEmulatorMissingError(
      missingEmulatorMessage(
        `no cloud-firestore-emulator.jar was found (looked under CLOUDSDK_ROOT_DIR, next to gcloud on the PATH and in ${DEBIAN_SDK_ROOT})`,
      ),
    );
  let lastError: unknown;
  for (let attempt = 1; attempt <= 5; attempt++) {
    try {
      return await startOnce(jar, await freePort(), opts.timeoutMs ?? 60_000, env);
    } catch (err) {
      if (err instanceof FirestoreEmulatorMissingError || !(err instanceof PortTakenError)) throw err;
      lastError = err;
    }
  }
  throw lastError;
}

class PortTakenError extends Error {}

async function startOnce(jar: string, port: number, timeoutMs: number, env: NodeJS.ProcessEnv): Promise<GoogleFirestoreEmulator> {
  const started = performance.now();
  // What the SDK's `cloud_firestore_emulator` script runs, without the shell in between (so that
  // stopping the child stops the JVM).
  const args = [
    '-Duser.language=en',
    '-cp',
    jar,
    'com.google.cloud.datastore.emulator.firestore.CloudFirestore',
    'start',
    '--host=127.0.0.1',
    `--port=${port}`,
  ];
  const java = env.JAVA ?? 'java';
  const child = spawn(java, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const onOutput = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-8192);
  };
  child.stdout.on('data', onOutput);
  child.stderr.on('data', onOutput);
  const exited = new Promise<never>((_, reject) => {
    child.once('error', (err: NodeJS.ErrnoException) => {
      reject(
        err.code === 'ENOENT' ? new FirestoreEmulatorMissingError(missingEmulatorMessage(`Java (\`${java}\`) is not on the PATH`)) : err,
      );
    });
    child.once('exit', (code, signal) => {
      const message = `Google's Firestore emulator exited (${signal ?? `code ${code}`}) before it answered: ${output.slice(-600)}`;
      reject(/address already in use|BindException/i.test(output) ? new PortTakenError(message) : new Error(message));
    });
  });
  exited.catch(() => undefined);
  const host = `127.0.0.1:${port}`;
  const polling = new AbortController();
  try {
    await Promise.race([exited, answers(host, started + timeoutMs, polling.signal)]);
  } catch (err) {
    await stopChild(child);
    throw err;
  } finally {
    polling.abort();
  }
  const startupMs = performance.now() - started;
  // A runner that exits without its teardown (an uncaught error, process.exit) must not leave a JVM.
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  return {
    host,
    port,
    startupMs,
    stop: async () => {
      process.off('exit', killOnExit);
      await stopChild(child);
    },
  };
}

/** Polls `GET /` (the emulator answers "Ok") until it answers or the deadline passes. */
async function answers(host: string, deadline: number, stop: AbortSignal): Promise<void> {
  while (!stop.aborted) {
    try {
      const res = await fetch(`http://${host}/`, { signal: AbortSignal.timeout(1000) });
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    if (performance.now() > deadline) throw new Error(`Google's Firestore emulator did not answer on ${host} in time`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await gone;
  clearTimeout(timer);
}
