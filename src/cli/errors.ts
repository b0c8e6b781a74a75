/**
 * The CLI's exit codes: a script can tell "fix your command" from "the server said no" from "the
 * server is not there" without parsing messages. The README's CLI section lists them.
 */
export const EXIT = {
  OK: 0,
  /** The server answered with an error not listed below, or the operation failed (account logged out…). */
  FAILED: 1,
  /** Bad arguments or unknown command: nothing was sent. */
  USAGE: 2,
  /** 404: unknown account, thread or message. */
  NOT_FOUND: 3,
  /** 401, or no token to send. */
  AUTH: 4,
  /** The server is unreachable, or answered 503 (shutting down, account not running or not connected). */
  UNAVAILABLE: 5,
  /** A wait (`qr`, `pair --wait`, `backfill --wait`) ran out of time. */
  TIMEOUT: 6,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An error the CLI reports as one line on stderr, exiting with `exitCode`. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    readonly exitCode: ExitCode,
    message: string,
  ) {
    super(message);
  }
}

export class UsageError extends CliError {
  constructor(message: string) {
    super(EXIT.USAGE, message);
  }
}

/** The exit code for an HTTP error status. */
export function exitCodeForStatus(status: number): ExitCode {
  if (status === 401) return EXIT.AUTH;
  if (status === 404) return EXIT.NOT_FOUND;
  if (status === 503) return EXIT.UNAVAILABLE;
  return EXIT.FAILED;
}
