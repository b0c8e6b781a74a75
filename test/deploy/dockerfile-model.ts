import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DockerfileParser, type Copy, type Env, type Instruction, type ModifiableInstruction } from 'dockerfile-ast';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const DOCKERFILE = fileURLToPath(new URL('../../deploy/Dockerfile', import.meta.url));

export interface Step {
  keyword: string;
  /** Everything after the keyword and its flags, as written. */
  text: string;
  flags: Record<string, string | null>;
  line: number;
  /** ENV's properties. */
  env?: Record<string, string>;
  /** COPY's sources and destination. */
  copy?: { from: string | null; sources: string[]; dest: string };
}

export interface Stage {
  name: string;
  /** The FROM image with the global ARGs' defaults substituted. */
  image: string;
  steps: Step[];
}

/**
 * deploy/Dockerfile through dockerfile-ast (the parser behind the Docker language server), reduced to
 * what the tests check and replay: stages with their resolved base image and their steps in order.
 */
export function readDockerfile(text = readFileSync(DOCKERFILE, 'utf8')): {
  text: string;
  globalArgs: Record<string, string>;
  stages: Stage[];
} {
  const dockerfile = DockerfileParser.parse(text);
  const globalArgs: Record<string, string> = {};
  for (const arg of dockerfile.getInitialARGs()) {
    const p = arg.getProperty();
    if (p) globalArgs[p.getName()] = p.getValue() ?? '';
  }
  const substitute = (s: string): string => s.replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (m, name: string) => globalArgs[name] ?? m);
  const stages: Stage[] = [];
  for (const instruction of dockerfile.getInstructions()) {
    const keyword = instruction.getKeyword().toUpperCase();
    if (keyword === 'FROM') {
      const args = instruction.getArguments().map((a) => a.getValue());
      const as = args.findIndex((a) => a.toUpperCase() === 'AS');
      stages.push({ name: as >= 0 ? args[as + 1]! : String(stages.length), image: substitute(args[0]!), steps: [] });
      continue;
    }
    const stage = stages.at(-1);
    if (!stage) continue; // global ARGs
    stage.steps.push(step(instruction, keyword));
  }
  return { text, globalArgs, stages };
}

function step(instruction: Instruction, keyword: string): Step {
  const flags: Record<string, string | null> = {};
  if ('getFlags' in instruction) for (const f of (instruction as ModifiableInstruction).getFlags()) flags[f.getName()] = f.getValue();
  const content = instruction.getArgumentsContent() ?? '';
  const text = content.replace(/^(\s*--[a-z-]+(=\S+)?\s+)+/, '').trim();
  const out: Step = { keyword, text, flags, line: instruction.getRange().start.line + 1 };
  if (keyword === 'ENV') {
    out.env = Object.fromEntries((instruction as Env).getProperties().map((p) => [p.getName(), p.getValue() ?? '']));
  }
  if (keyword === 'COPY') {
    const words = instruction
      .getArguments()
      .map((a) => a.getValue())
      .filter((w) => !w.startsWith('--'));
    out.copy = { from: (instruction as Copy).getFromFlag()?.getValue() ?? null, sources: words.slice(0, -1), dest: words.at(-1)! };
  }
  return out;
}

/** CMD/ENTRYPOINT/HEALTHCHECK CMD in exec (JSON) form; a shell form is a test failure on purpose. */
export function execForm(text: string): string[] {
  const json = text.replace(/^CMD\s+/i, '');
  const parsed: unknown = JSON.parse(json);
  if (!Array.isArray(parsed) || !parsed.every((w) => typeof w === 'string')) throw new Error(`not an exec-form array: ${text}`);
  return parsed as string[];
}
