import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { freePort } from './free-port.js';

/**
 * Google's Cloud Firestore emulator (Debian package `google-cloud-cli-firestore-emulator`), started
 * on a free loopback port. Unlike the in-process npm emulator it isolates transactions and keeps
 * query order right after documents are updated (the npm one orders a range query wrongly once a
 * matching document has been updated), which the media queue's claim depends on.
 */
export const GOOGLE_FIRESTORE_EMULATOR = '/usr/lib/google-cloud-sdk/platform/cloud-firestore-emulator/cloud_firestore_emulator';

export function googleFirestoreEmulatorInstalled(): boolean {
  return existsSync(GOOGLE_FIRESTORE_EMULATOR);
}

export interface GoogleFirestoreEmulator {
  host: string;
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 30_000;

export async function startGoogleFirestoreEmulator(): Promise<GoogleFirestoreEmulator> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const child = spawn(GOOGLE_FIRESTORE_EMULATOR, ['start', '--host=127.0.0.1', `--port=${port}`], {
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group, so stop() ends the JVM the wrapper script starts too.
      detached: true,
    });
    try {
      await waitForReady(child);
      return { host: `127.0.0.1:${port}`, stop: () => stop(child) };
    } catch (err) {
      await stop(child);
      // Another process may have taken the port between freePort() and the bind.
      if (attempt >= 3) throw err;
    }
  }
}

function waitForReady(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => done(new Error(`the Firestore emulator did not start in ${START_TIMEOUT_MS} ms:\n${output}`)), START_TIMEOUT_MS);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      if (output.includes('Dev App Server is now running')) done(null);
    };
    const onExit = (code: number | null): void => done(new Error(`the Firestore emulator exited (${code}):\n${output}`));
    function done(err: Error | null): void {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onData);
      child.off('exit', onExit);
      // Keep draining, or a full pipe would stall the emulator.
      child.stdout?.resume();
      child.stderr?.resume();
      if (err) reject(err);
      else resolve();
    }
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {
    return;
  }
  const timer = setTimeout(() => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }, 5_000);
  await exited;
  clearTimeout(timer);
}
