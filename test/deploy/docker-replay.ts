import { spawn } from 'node:child_process';
import { chownSync, copyFileSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import type { Ignore } from '@balena/dockerignore';
import { REPO, execForm, type Stage, type Step } from './dockerfile-model.js';

// CommonJS whose typings declare an ES default export: loaded the CommonJS way.
const ignore = createRequire(import.meta.url)('@balena/dockerignore') as () => Ignore;

/** The uid/gid of `node`, the unprivileged user of the official Node images. */
export const IMAGE_USERS: Readonly<Record<string, number>> = { node: 1000 };

export interface ReplayedStage {
  name: string;
  /** This stage's filesystem root on the host. */
  root: string;
  workdir: string;
  env: Record<string, string>;
  user: string | null;
  entrypoint: string[];
  cmd: string[];
  healthcheck: string[] | null;
  /** Steps that need the image's OS (apt-get, …): recorded, not run; the host provides their result. */
  skipped: string[];
  /** `npm …` steps with their wall time. */
  ran: Array<{ command: string; ms: number }>;
}

/**
 * Replays the Dockerfile's stages on the host, without a Docker engine: each stage gets its own
 * directory standing for its filesystem root; WORKDIR, ENV, COPY (from the context, filtered by
 * .dockerignore, or `--from` another stage) and USER are applied; `npm …` RUN steps run for real in
 * the stage's WORKDIR with its ENV (the npm cache is reused); mkdir/chown/ln are applied inside the
 * stage root. apt-get steps are recorded (the host has the same Debian packages). Any other step
 * throws: the replay must be taught it, so that no Dockerfile step goes unchecked. Stages run
 * concurrently, each waiting for the stages it copies from, as BuildKit does. `npmEnv` is added to
 * the environment of every `npm` step (the build's network and caches, as `docker build --build-arg`
 * or a cache mount would give them; never the image's own ENV).
 */
export async function replayDockerfile(
  stages: readonly Stage[],
  buildRoot: string,
  opts: { npmEnv?: Record<string, string> } = {},
): Promise<Map<string, ReplayedStage>> {
  const rules = readFileSync(path.join(REPO, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const ignored = ignore().add(rules);
  const done = new Map<string, Promise<ReplayedStage>>();
  for (const stage of stages) done.set(stage.name, replayStage(stage, buildRoot, ignored, done, opts.npmEnv ?? {}));
  const out = new Map<string, ReplayedStage>();
  for (const [name, p] of done) out.set(name, await p);
  return out;
}

/** An absolute image path inside a stage root. */
export function inStage(root: string, p: string): string {
  return path.join(root, path.posix.normalize(p));
}

async function replayStage(
  stage: Stage,
  buildRoot: string,
  ignored: Ignore,
  stages: Map<string, Promise<ReplayedStage>>,
  extraNpmEnv: Record<string, string>,
): Promise<ReplayedStage> {
  const root = path.join(buildRoot, stage.name);
  mkdirSync(root, { recursive: true });
  const s: ReplayedStage = {
    name: stage.name,
    root,
    workdir: '/',
    env: {},
    user: null,
    entrypoint: [],
    cmd: [],
    healthcheck: null,
    skipped: [],
    ran: [],
  };
  for (const step of stage.steps) {
    const where = `Dockerfile line ${step.line} (${stage.name})`;
    switch (step.keyword) {
      case 'WORKDIR':
        s.workdir = path.posix.resolve(s.workdir, step.text);
        mkdirSync(inStage(root, s.workdir), { recursive: true });
        break;
      case 'ENV':
        Object.assign(s.env, step.env);
        break;
      case 'COPY':
        await copyStep(s, step, ignored, stages, where);
        break;
      case 'RUN':
        for (const part of step.text.split('&&').map((p) => p.trim())) await runPart(s, part, where, extraNpmEnv);
        break;
      case 'USER':
        s.user = step.text;
        break;
      case 'ENTRYPOINT':
        s.entrypoint = execForm(step.text);
        break;
      case 'CMD':
        s.cmd = execForm(step.text);
        break;
      case 'HEALTHCHECK':
        s.healthcheck = execForm(step.text);
        break;
      case 'VOLUME':
      case 'EXPOSE':
      case 'STOPSIGNAL':
      case 'LABEL':
        break; // metadata: checked by the static test
      default:
        throw new Error(`${where}: the replay does not know ${step.keyword}`);
    }
  }
  return s;
}

async function copyStep(
  s: ReplayedStage,
  step: Step,
  ignored: Ignore,
  stages: Map<string, Promise<ReplayedStage>>,
  where: string,
): Promise<void> {
  const { from, sources, dest } = step.copy!;
  const destAbs = inStage(s.root, path.posix.resolve(s.workdir, dest));
  const intoDir = dest.endsWith('/') || sources.length > 1;
  for (const source of sources) {
    let src: string;
    let keep: (rel: string) => boolean = () => true;
    if (from) {
      const other = stages.get(from);
      if (!other) throw new Error(`${where}: COPY --from=${from}: no such stage before it`);
      src = inStage((await other).root, source);
    } else {
      src = path.join(REPO, source);
      const base = path.posix.normalize(source).replace(/\/$/, '');
      keep = (rel) => !ignored.ignores(rel === '' ? base : `${base}/${rel}`);
      if (!keep('')) throw new Error(`${where}: COPY ${source}: excluded by .dockerignore (docker build would fail: not found)`);
    }
    if (!existsSync(src)) throw new Error(`${where}: COPY ${source}: not found`);
    const target = lstatSync(src).isDirectory() ? destAbs : intoDir ? path.join(destAbs, path.basename(src)) : destAbs;
    copyTree(src, target, '', keep);
  }
}

/** Docker's COPY: a directory's contents (not the directory) land at the destination. */
function copyTree(src: string, dest: string, rel: string, keep: (rel: string) => boolean): void {
  const st = lstatSync(src);
  if (st.isDirectory()) {
    mkdirSync(dest, { recursive: true });
    for (const name of readdirSync(src)) {
      const childRel = rel ? `${rel}/${name}` : name;
      if (keep(childRel)) copyTree(path.join(src, name), path.join(dest, name), childRel, keep);
    }
  } else if (st.isSymbolicLink()) {
    // node_modules/.bin holds relative links: they stay valid in the copy.
    mkdirSync(path.dirname(dest), { recursive: true });
    symlinkSync(readlinkSync(src), dest);
  } else {
    mkdirSync(path.dirname(dest), { recursive: true });
    copyFileSync(src, dest);
  }
}

async function runPart(s: ReplayedStage, part: string, where: string, extraNpmEnv: Record<string, string>): Promise<void> {
  const mkdir = /^mkdir -p (\/\S+)$/.exec(part);
  const chown = /^chown (\w+):(\w+) (\/\S+)$/.exec(part);
  const link = /^ln -s (\/\S+) (\/\S+)$/.exec(part);
  if (/^npm\s/.test(part)) {
    const started = Date.now();
    await sh(part, inStage(s.root, s.workdir), { ...npmEnv(s.env), ...extraNpmEnv }, where);
    s.ran.push({ command: part, ms: Date.now() - started });
  } else if (/^apt-get\s/.test(part) || part === 'rm -rf /var/lib/apt/lists/*') {
    s.skipped.push(part);
  } else if (mkdir) {
    mkdirSync(inStage(s.root, mkdir[1]!), { recursive: true });
  } else if (chown) {
    const uid = IMAGE_USERS[chown[1]!];
    const gid = IMAGE_USERS[chown[2]!];
    if (uid === undefined || gid === undefined) throw new Error(`${where}: chown to ${chown[1]}:${chown[2]}, not a user of the base image`);
    chownSync(inStage(s.root, chown[3]!), uid, gid);
  } else if (link) {
    const at = inStage(s.root, link[2]!);
    mkdirSync(path.dirname(at), { recursive: true });
    symlinkSync(inStage(s.root, link[1]!), at);
  } else {
    throw new Error(`${where}: the replay does not know the step "${part}": teach test/deploy/docker-replay.ts`);
  }
}

/**
 * The environment an `npm` step sees: the stage's ENV over a clean base. npm's own npm_* variables
 * (set when the tests run under `npm test`) are dropped so that they cannot change what `npm ci`
 * installs; `prefer-offline` reuses the host's npm cache, as a BuildKit cache mount would.
 */
function npmEnv(stageEnv: Record<string, string>): Record<string, string> {
  const base: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !/^npm_/i.test(k) && k !== 'NODE_ENV' && k !== 'INIT_CWD') base[k] = v;
  }
  return { ...base, ...stageEnv, npm_config_prefer_offline: 'true', npm_config_update_notifier: 'false' };
}

function sh(command: string, cwd: string, env: Record<string, string>, where: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', command], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${where}: "${command}" exited ${code}:\n${out.slice(-4000)}`)),
    );
  });
}
