/** Where a command writes: results to stdout (pipeable), notes and errors to stderr. */
export interface Output {
  readonly isTTY: boolean;
  /** Terminal width, or undefined when stdout is not a terminal (nothing is cut then). */
  readonly columns: number | undefined;
  print(text: string): void;
  note(text: string): void;
  /** A result in `--json` mode: pretty-printed JSON, one document per call. */
  json(value: unknown): void;
  /** One JSON document on one line (the events of a wait, for line-oriented readers). */
  jsonLine(value: unknown): void;
  /** Standard output as a stream, for bodies written as they arrive (`export`), with its backpressure. */
  readonly stream: NodeJS.WritableStream;
}

export function processOutput(stdout: NodeJS.WriteStream, stderr: NodeJS.WriteStream): Output {
  return {
    isTTY: stdout.isTTY === true,
    columns: stdout.isTTY ? stdout.columns : undefined,
    print: (text) => void stdout.write(text.endsWith('\n') ? text : `${text}\n`),
    note: (text) => void stderr.write(text.endsWith('\n') ? text : `${text}\n`),
    json: (value) => void stdout.write(`${JSON.stringify(value, null, 2)}\n`),
    jsonLine: (value) => void stdout.write(`${JSON.stringify(value)}\n`),
    stream: stdout,
  };
}

/**
 * Rows under a header, columns padded to their widest cell. Only the last column is cut, and only on a
 * terminal (to its width): piped output keeps every character.
 */
export function renderTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>, columns?: number): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string => {
    const padded = cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)));
    const text = padded.join('  ');
    return columns !== undefined && text.length > columns ? `${text.slice(0, Math.max(0, columns - 1))}…` : text;
  };
  return [line(header), ...rows.map(line)].join('\n');
}

/** `2025-01-15T12:00:03.000Z` → `2025-01-15 12:00:03Z`; null → `-`. */
export function when(iso: unknown): string {
  if (typeof iso !== 'string') return '-';
  return iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

/** A message body or preview on one line. */
export function oneLine(text: unknown, max = 200): string {
  if (typeof text !== 'string' || text === '') return '';
  const flat = text.replace(/\s*\n\s*/g, ' ⏎ ');
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** `key: value` lines, keys aligned: one record, for people. */
export function renderFields(fields: ReadonlyArray<readonly [string, string]>): string {
  const width = Math.max(...fields.map(([k]) => k.length));
  return fields.map(([k, v]) => `${`${k}:`.padEnd(width + 1)} ${v}`).join('\n');
}
