#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { processOutput } from './output.js';
import { runCli } from './run.js';

/** The `wasync` command (package.json `bin`). */
function version(): string {
  try {
    // dist/src/cli/main.js → package.json at the package root.
    return (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const code = await runCli(process.argv.slice(2), {
  out: processOutput(process.stdout, process.stderr),
  env: process.env,
  cwd: process.cwd(),
  version: version(),
  readStdin,
});
process.exitCode = code;
