import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { CtrError, asCtrError, invalidArgument, isNotFound, notFound, throwIfAborted, unsupported } from '@ctr/errors';
import { DEFAULT_PATH_ENV, nowRfc3339Nano, resolveInRoot, type ContainerConfig, type HistoryEntry } from '@ctr/image';
import type { BaseImage, BuildBackend, CachedStep, ImageSpec, RunMount, RunResult, RunStep } from './backend';
import { hostPlatform, parsePlatform, Platform, platformArgs, proxyArgs } from './build-args';
import { BuildContext, openContext, readContextFile } from './build-context';
import type { BuildEvent } from './build-events';
import { cacheKey, rootKey } from './cache-key';
import { parseChmod, resolveChown } from './chown';
import { cleanPath } from './clean-path';
import { createdDirectories, fileItem, hashItems, LayerItem, matchSource, SourceRoot, walkDirectory, type MadeFor } from './copy-plan';
import { applyConfigInstruction, isConfigInstruction } from './config-instruction';
import { download, urlName } from './fetch-url';
import { copyCreatedBy, nopCreatedBy, runCreatedBy } from './created-by';
import { PatternMatcher } from './dockerignore';
import { DockerfileError, SyntaxProblem } from './dockerfile-error';
import { chompHeredocContent } from './heredoc';
import { parseInstruction, parseDockerfile } from './instruction-parser';
import type { CopyInstruction, Dockerfile, Instruction, LabelInstruction, RunInstruction, Stage } from './instructions';
import { isArchive, writeLayer } from './layer-writer';
import { parse } from './parser';
import { isRemoteContextSource, openRemoteContext, type RemoteContextSource } from './remote-context';
import { ShellLex } from './shell-lexer';
import { StageState, defaultShell, type CacheSource } from './stage-state';
import { planMounts, type MountPlan } from './mount-plan';
import { mountFromStage, parseMountFlag } from './run-mount';
import { contextKey, resolveNamedContexts, type NamedContext } from './named-context';
import { openOutput, type BuildOutput, type OutputSink } from './build-output';
import { readIgnore } from './build-context';

export interface BuildOptions<S> {
  backend: BuildBackend<S>;
  /**
   * A directory, a tar stream of one (plain, gzip, bzip2, xz or zstd) — or a stream of a
   * Dockerfile alone, with nothing else in the context (`docker build - < Dockerfile`) — or
   * `{ remote }`: a git repository or an http(s) URL to fetch it from (see `openRemoteContext`).
   */
  context: string | Readable | RemoteContextSource;
  /** The Dockerfile's path inside the context (default `Dockerfile`). */
  dockerfile?: string;
  /** The Dockerfile's text, instead of reading it from the context (`docker build -f -`). */
  dockerfileContent?: string | Uint8Array;
  /** Build up to this stage (`--target`); default the last one. */
  target?: string;
  /**
   * `--build-arg`s; null is one given without a value that the caller's environment has none
   * for (docker's nil): it sets nothing, an ARG's default stays, but it is still one given,
   * said among those not consumed.
   */
  buildArgs?: Record<string, string | null>;
  /** Labels added to the final image (`--label`). */
  labels?: Record<string, string>;
  noCache?: boolean;
  /**
   * docker's `--pull`: every image the build starts from or copies from (not `scratch`, a
   * stage, or a named context's directory) is pulled from its registry even when here, so
   * the build uses what the registry has now; a failed pull fails the build.
   */
  pull?: boolean;
  /** `os/arch[/variant]` for FROM images without `--platform`; default the host's. */
  platform?: string;
  /** Privileges an untrusted Dockerfile cannot take by itself (SECURITY-CASES B5). */
  allow?: { networkHost?: boolean };
  /**
   * `--cache-from`: images already here whose history (and layers) the build's steps may
   * reuse, as docker's classic builder does: a step is taken from one when the image's
   * history so far is the stage's and its next entry is the step. Missing ones are skipped.
   */
  cacheFrom?: string[];
  /** `--squash`: the final stage's own layers become one (docker's history shape; the unsquashed image is kept, untagged). */
  squash?: boolean;
  /** `RUN --mount=type=secret` contents by id (`--secret`): never in a layer, the history or a cache key. */
  secrets?: Record<string, Uint8Array>;
  /** `RUN --mount=type=ssh` agent sockets on this machine by id (`--ssh default=$SSH_AUTH_SOCK`). */
  ssh?: Record<string, string>;
  /**
   * docker's `--rm` (default true): a RUN step's container is removed once the step succeeds;
   * false keeps every one, exited. A failed step's is kept either way, as docker's classic
   * builder keeps it, unless `forceRemove`.
   */
  remove?: boolean;
  /** docker's `--force-rm`: every step's container is removed, a failed one's too. */
  forceRemove?: boolean;
  onEvent?: (event: BuildEvent) => void;
  signal?: AbortSignal;
  /**
   * Where a context sent as a tar is extracted and ADD's downloads land, each in a directory
   * of its own removed after the build (default the system's temporary directory).
   */
  scratchDir?: string;
  /** The clock for `created` times, RFC 3339 (tests pin it); default now, to the nanosecond. */
  now?: () => string;
  /**
   * buildx's `--build-context name=…`: what `FROM name`, `COPY --from=name` and `RUN --mount
   * from=name` get instead of the image (or stage) of that name. Names as buildx keys them
   * (`alpine` is `docker.io/library/alpine:latest` too).
   */
  buildContexts?: Record<string, NamedContext>;
  /**
   * buildx's `--output type=local|tar`: the target stage's filesystem is written there once it
   * is built. Its image is still committed (the classic builder commits every step), never
   * tagged by the caller: it is what `id` names.
   */
  output?: BuildOutput;
}

export interface BuildResult {
  /** The image ID the backend's commit returned. */
  id: string;
  warnings: string[];
}

/** What a stage name, index or image reference in FROM / COPY --from points at. */
type Source<S> = { state: S; key: string };

/** What a step made: its state, and whether that is no layer more (a RUN, a COPY that changed nothing). */
interface Produced<S> {
  state: S;
  emptyLayer?: boolean;
}

/** A named context's directory as a state; `history` is its layer's entry (none for an empty directory). */
type NamedSource<S> = Source<S> & { history?: HistoryEntry };

/** A named context found for a name, with the key it was found by. */
interface NamedEntry {
  key: string;
  context: NamedContext;
}

class Build<S> {
  private readonly backend: BuildBackend<S>;
  private readonly signal: AbortSignal;
  private readonly now: () => string;
  private readonly buildArgs: Map<string, string>;
  /** Every `--build-arg` name given, valued or not (dockerd's argsFromOptions keys). */
  private readonly givenArgs: string[];
  private readonly metaEnv: Map<string, string>;
  private readonly declared = new Set<string>();
  private readonly results = new Map<number, StageState<S>>();
  /** Images by platform and reference, resolved (and with `pull`, pulled) once per build. */
  private readonly images = new Map<string, Promise<BaseImage<S>>>();
  private readonly lex: ShellLex;
  /** Heredoc bodies expand like sh here-documents: quotes are ordinary characters. */
  private readonly heredocLex: ShellLex;
  private readonly warnings: string[] = [];
  private readonly cacheSources: CacheSource<S>[] = [];
  private readonly targetPlatform: Platform;
  /** Named contexts' directories as states, made once per build (`localContext`). */
  private readonly locals = new Map<string, Promise<NamedSource<S>>>();
  /** Each COPY's `--from` as the plan expanded it (`planCopyFrom`). */
  private readonly plannedFrom = new Map<CopyInstruction, string>();
  private step = 0;
  private total = 0;

  constructor(
    private readonly options: BuildOptions<S>,
    private readonly dockerfile: Dockerfile,
    private readonly context: BuildContext,
    private readonly named: ReadonlyMap<string, NamedContext> = new Map(),
    private readonly output?: OutputSink,
  ) {
    this.backend = options.backend;
    this.signal = options.signal ?? new AbortController().signal;
    this.now = options.now ?? nowRfc3339Nano;
    const given = Object.entries(options.buildArgs ?? {});
    this.buildArgs = new Map(given.filter((entry): entry is [string, string] => entry[1] !== null));
    this.givenArgs = given.map(([key]) => key);
    this.lex = new ShellLex({ escapeToken: dockerfile.escapeToken });
    this.heredocLex = new ShellLex({ escapeToken: dockerfile.escapeToken, skipProcessQuotes: true });
    this.targetPlatform = options.platform ? parsePlatform(options.platform) : hostPlatform();
    this.metaEnv = platformArgs(this.targetPlatform, hostPlatform());
    // moby's PrintWarnings: each of the parser's, then one line saying what they will become.
    for (const w of dockerfile.warnings) this.warn(w.message, true);
    if (dockerfile.warnings.length > 0) this.warn('Empty continuation lines will become errors in a future release.', true);
    for (const arg of dockerfile.metaArgs) {
      for (const def of arg.args) {
        this.declared.add(def.key);
        const value = this.buildArgs.get(def.key) ?? (def.value === undefined ? undefined : this.expand(def.value, this.metaEnv, arg));
        if (value !== undefined) this.metaEnv.set(def.key, value);
      }
    }
  }

  private emit(event: BuildEvent): void {
    this.options.onEvent?.(event);
  }

  private warn(message: string, parser = false): void {
    this.warnings.push(message);
    this.emit({ type: 'warning', message, ...(parser ? { parser } : {}) });
  }

  private expand(word: string, env: Map<string, string>, at: Instruction, lex = this.lex): string {
    return located(at, () => lex.processWord(word, env));
  }

  async run(): Promise<BuildResult> {
    await this.resolveCacheSources();
    const stages = this.dockerfile.stages;
    const target = this.targetIndex();
    const needed = this.neededStages(target);
    const labels = this.labelInstructions();
    const metaArgs = this.dockerfile.metaArgs;
    // dockerd's count, the ARGs before the first FROM steps too, of the stages built: those the
    // target needs (BuildKit's choice; dockerd builds every stage up to the target).
    this.total = [...needed].reduce((n, i) => n + 1 + (this.override(i) ? 0 : stages[i]!.instructions.length), metaArgs.length + labels.length);
    // Each is its line alone, no ` ---> ` after it: dockerd commits nothing for them (they were processed before the plan).
    for (const arg of metaArgs) this.emit({ type: 'step', step: ++this.step, total: this.total, stage: -1, instruction: arg.node.original.trim(), line: arg.location.line });
    for (const stage of stages) if (!needed.has(stage.index)) this.emit({ type: 'stage-skipped', stage: stage.index, ...(stage.name ? { name: stage.name } : {}) });
    for (const index of [...needed].sort((a, b) => a - b)) await this.buildStage(index);
    const final = this.results.get(target)!;
    for (const label of labels) {
      this.emit({ type: 'step', step: ++this.step, total: this.total, stage: target, instruction: label.node.original, line: 0 });
      await this.execute(final, label, target);
      this.stepDone(final);
    }
    const spec = this.imageSpec(final);
    // The last step's image is the build's (dockerd's); only a stage that never was one (FROM scratch alone) is committed here.
    const built = final.image ?? (await this.backend.commit(final.state, spec, this.signal)).id;
    if (final.image === undefined) this.emit({ type: 'image', step: this.step, id: built });
    // dockerd's place for it: after the last step's image, before `Successfully built`.
    const unused = this.givenArgs.filter((k) => !this.declared.has(k) && !(proxyArgs as readonly string[]).includes(k));
    if (unused.length > 0) this.warn(`One or more build-args [${unused.sort().join(' ')}] were not consumed`);
    const id = this.options.squash ? await this.squash(final, spec, built) : built;
    const output = this.output;
    if (output) await this.backend.view(final.state, (root) => output.write(root, this.signal), this.signal);
    this.emit({ type: 'done', id });
    return { id, warnings: this.warnings };
  }

  /**
   * `labels` (docker's `--label`) as dockerd gives them (buildLabelOptions): after the target's
   * last instruction, one LABEL step per label, keys sorted, shown as `LABEL key=value`. Each
   * word is single-quoted for the lexer: dockerd does not expand them, so a `$` or a quote in
   * a value stays what it is.
   */
  private labelInstructions(): LabelInstruction[] {
    const labels = Object.entries(this.options.labels ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const escape = this.dockerfile.escapeToken;
    const quote = (word: string): string => `'${word.split("'").join(`'${escape}''`)}'`;
    return labels.map(([key, value]) => {
      const original = `LABEL ${key}=${value}`;
      const node = { keyword: 'LABEL', flags: [], args: [], json: false, heredocs: [], original, startLine: 0, endLine: 0, column: 0 };
      return { kind: 'LABEL', labels: [{ key: quote(key), value: quote(value) }], node, location: { file: '--label', line: 0, column: 0 } };
    });
  }

  /** A stage as it stands, as an image: the final one, or what a kept step container is a container of. */
  private imageSpec(stage: StageState<S>): ImageSpec {
    const last = stage.history[stage.history.length - 1];
    const config = stage.base?.config !== undefined && stage.history.length === stage.base.history ? stage.base.config : stage.config;
    return {
      architecture: stage.platform.architecture,
      os: stage.platform.os,
      ...(stage.platform.variant ? { variant: stage.platform.variant } : {}),
      created: last?.created ?? this.now(),
      ...(stage.author !== undefined ? { author: stage.author } : {}),
      config: { ...config },
      history: [...stage.history],
    };
  }

  /** A step is over: its image, as dockerd prints it (` ---> <id>`). */
  private stepDone(stage: StageState<S>): void {
    if (stage.image !== undefined) this.emit({ type: 'image', step: this.step, id: stage.image });
  }

  /** docker's `--rm` / `--force-rm` for a RUN step of `stage` (see `RunStep.keep`). */
  private async keepContainer(stage: StageState<S>): Promise<RunStep['keep']> {
    if (this.options.forceRemove) return undefined;
    // A stage with no image yet (scratch, no step before) is committed as one for the container to be of.
    const image = stage.image ?? (await this.backend.commit(stage.state, this.imageSpec(stage), this.signal)).id;
    return { when: this.options.remove === false ? 'always' : 'on-failure', image };
  }

  /**
   * docker's squash (daemon/images SquashImage): the final stage's layers above its FROM as
   * one, the history kept with those entries marked empty, and one entry more saying so.
   */
  private async squash(final: StageState<S>, spec: ImageSpec, built: string): Promise<string> {
    if (!this.backend.squash) throw unsupported('--squash is not supported by this build backend');
    const base = final.base!;
    const state = await this.backend.squash(base.state, final.state, this.signal);
    const created = this.now();
    const history = final.history.map((h, i) => (i >= base.history ? { ...h, empty_layer: true } : h));
    history.push({ created, comment: base.parent ? `merge ${built} to ${base.parent}` : `create new from ${built}` });
    return (await this.backend.commit(state, { ...spec, created, history }, this.signal)).id;
  }

  /** The `--cache-from` images that are here (docker skips the others); resolved once, before any step. */
  private async resolveCacheSources(): Promise<void> {
    const refs = this.options.noCache ? [] : (this.options.cacheFrom ?? []);
    if (refs.length === 0) return;
    if (!this.backend.layerPrefix) throw unsupported('--cache-from is not supported by this build backend');
    for (const ref of refs) {
      const image = await this.backend.resolveImage(ref, { ...(this.options.platform ? { platform: this.options.platform } : {}), signal: this.signal, pull: 'never' }).catch((error: unknown) => {
        if (!isNotFound(error)) throw error;
        this.warn(`cache-from image ${ref} is not here: not used as a cache source`);
        return undefined;
      });
      if (image) this.cacheSources.push({ id: image.id, history: image.config.history ?? [], diffIds: image.config.rootfs.diff_ids, state: image.state });
    }
  }

  private targetIndex(): number {
    const stages = this.dockerfile.stages;
    const wanted = this.options.target;
    if (wanted === undefined || wanted === '') return stages.length - 1;
    const found = stages.find((s) => s.name === wanted.toLowerCase());
    if (!found) throw notFound(`failed to reach build target ${wanted} in Dockerfile`, { hint: `Stages: ${stages.map((s) => s.name ?? s.index).join(', ')}` });
    return found.index;
  }

  /** The stage a FROM or COPY --from text names, if it is an earlier stage. */
  private stageRef(text: string, before: number, byIndex: boolean): number | undefined {
    const lower = text.toLowerCase();
    const named = this.dockerfile.stages.find((s) => s.index < before && s.name === lower);
    if (named) return named.index;
    if (byIndex && /^\d+$/.test(text) && Number(text) < before) return Number(text);
    return undefined;
  }

  /**
   * Stages the target depends on: FROM <stage> (expanded with the global ARGs, as the stage's
   * FROM is), COPY --from=<stage> (as `planCopyFrom` expands it), RUN --mount from=<stage>
   * (never expanded). They are all built, in order, before the target, so the steps counted
   * are the steps run.
   */
  private neededStages(target: number): Set<number> {
    const needed = new Set<number>();
    const visit = (index: number): void => {
      if (needed.has(index)) return;
      needed.add(index);
      const stage = this.dockerfile.stages[index]!;
      // A stage a named context replaces needs nothing of its own.
      if (this.override(index)) return;
      const refs: [string, boolean][] = [];
      try {
        refs.push([this.lex.processWord(stage.from.image, this.metaEnv), false]);
      } catch {
        // reported with its location when the stage runs
      }
      for (const from of this.planCopyFrom(stage)) refs.push([from, true]);
      for (const i of stage.instructions) {
        if (i.kind !== 'RUN') continue;
        for (const from of i.mounts.map(mountFromStage)) if (from) refs.push([from, true]);
      }
      for (const [text, byIndex] of refs) {
        const dep = this.stageRef(text, index, byIndex);
        if (dep !== undefined) visit(dep);
      }
    };
    visit(target);
    return needed;
  }

  /**
   * The `--from` of each COPY in `stage`, expanded before any step runs and kept for the step
   * (`plannedFrom`): with what the stage's own ARG and ENV instructions before it set
   * (`--build-arg` first, a bare ARG the global one's), as the step would expand it, but not the
   * base image's ENV, which is known only once the stage runs. So the stage a step copies from
   * is the one planned: counted in the total, and built before the step, not inside it.
   */
  private planCopyFrom(stage: Stage): string[] {
    const args = new Map<string, string>();
    const env = new Map<string, string>();
    const expand = (word: string): string => this.lex.processWord(word, new Map([...args, ...env]));
    const texts: string[] = [];
    for (const ins of stage.instructions) {
      try {
        if (ins.kind === 'ARG') {
          for (const def of ins.args) {
            const value = this.buildArgs.get(def.key) ?? (def.value === undefined ? this.metaEnv.get(def.key) : expand(def.value));
            if (value !== undefined) args.set(def.key, value);
          }
        } else if (ins.kind === 'ENV') {
          const pairs = ins.env.map(({ key, value }) => [expand(key), expand(value)] as const);
          for (const [key, value] of pairs) env.set(key, value);
        } else if (ins.kind === 'COPY' && ins.from !== undefined) {
          const text = expand(ins.from);
          this.plannedFrom.set(ins, text);
          texts.push(text);
        }
      } catch {
        // reported with its location when the step runs
      }
    }
    return texts;
  }

  /**
   * An image to build on or copy from, once per build: with `--pull` from its registry, its
   * pull's messages shown under the step that first names it.
   */
  private baseImage(ref: string, platform: string | undefined): Promise<BaseImage<S>> {
    const memo = `${platform ?? ''}\0${ref}`;
    let found = this.images.get(memo);
    if (!found) {
      const step = this.step;
      found = this.backend.resolveImage(ref, {
        ...(platform ? { platform } : {}),
        signal: this.signal,
        pull: this.options.pull ? 'always' : 'missing',
        onProgress: (message) => this.emit({ type: 'pull', step, ...message }),
      });
      this.images.set(memo, found);
    }
    return found;
  }

  private async resolveImage(ref: string, platform: string | undefined): Promise<Source<S> & { config: ContainerConfig }> {
    const image = await this.baseImage(ref, platform);
    // The image's ID keys the steps on it: a base pulled anew with other content is a new cache chain.
    return { state: image.state, key: rootKey('image', image.id), config: image.config.config ?? {} };
  }

  private async buildStage(index: number): Promise<StageState<S>> {
    const done = this.results.get(index);
    if (done) return done;
    const stage = this.dockerfile.stages[index]!;
    const from = stage.from;
    this.emit({ type: 'step', step: ++this.step, total: this.total, stage: index, instruction: from.node.original.trim(), line: from.location.line });
    throwIfAborted(this.signal, 'the build');
    const base = this.expand(from.image, this.metaEnv, from);
    // dockerd's getFromImage: an empty name would be taken as scratch, so it is refused (dockerd's
    // words alone, no hint: the API would append it to them).
    if (base === '') throw invalidArgument(`base name (${from.image}) should not be blank`);
    const platform = from.platform !== undefined ? this.expand(from.platform, this.metaEnv, from) : this.options.platform;
    const override = this.override(index);
    const ref = override ? undefined : this.stageRef(base, index, false);
    const named = override ?? (ref === undefined ? this.namedContext(base) : undefined);
    let state: StageState<S>;
    if (named !== undefined) state = await this.namedStage(named, platform);
    else if (ref !== undefined) {
      const parent = await this.buildStage(ref);
      state = new StageState(parent.state, parent.key, structuredClone(parent.config), [...parent.history], parent.platform, parent.author);
      state.base = { state: parent.state, history: parent.history.length, parent: `stage ${base}` };
      state.image = parent.image;
      state.cacheSources = parent.cacheSources;
    } else if (base.toLowerCase() === 'scratch') {
      const p = platform ? parsePlatform(platform) : this.targetPlatform;
      state = new StageState(await this.backend.scratch(this.signal), rootKey('scratch', p.os, p.architecture), {}, [], p, undefined);
      state.base = { state: state.state, history: 0 };
      state.cacheSources = this.cacheSources;
    } else state = await this.imageStage(base, platform);
    state.base = { ...state.base!, config: structuredClone(state.config) };
    // dockerd's setDefaultPath: a Linux stage whose base has no PATH gets it, and so the images its steps make.
    if (state.platform.os !== 'windows' && !state.envMap().has('PATH')) state.config.Env = [...(state.config.Env ?? []), DEFAULT_PATH_ENV];
    const triggers = state.config.OnBuild ?? [];
    delete state.config.OnBuild; // triggers run once, in the image built directly FROM this one
    if (triggers.length > 0) {
      this.emit({ type: 'trigger', count: triggers.length, stage: index });
      for (const trigger of triggers) {
        const node = parse(trigger, { file: `ONBUILD trigger of ${base}` }).nodes[0]!;
        await this.execute(state, parseInstruction(node, `ONBUILD trigger of ${base}`), index);
      }
    }
    // FROM's result: the base, or what its triggers made of it.
    this.stepDone(state);
    // A stage a named context replaces is that context: none of its own instructions run.
    for (const instruction of override ? [] : stage.instructions) {
      this.emit({ type: 'step', step: ++this.step, total: this.total, stage: index, instruction: instruction.node.original.trim(), line: instruction.location.line });
      throwIfAborted(this.signal, 'the build');
      await this.execute(state, instruction, index);
      this.stepDone(state);
    }
    this.results.set(index, state);
    return state;
  }

  /** A stage FROM an image: its config, history and layers. */
  private async imageStage(ref: string, platform: string | undefined): Promise<StageState<S>> {
    const image = await this.baseImage(ref, platform);
    const c = image.config;
    const state = new StageState(
      image.state,
      rootKey('image', image.id),
      structuredClone(c.config ?? {}),
      [...(c.history ?? [])],
      { os: c.os, architecture: c.architecture, ...(c.variant ? { variant: c.variant } : {}) },
      c.author,
    );
    state.base = { state: image.state, history: state.history.length, parent: image.id };
    state.image = image.id;
    // docker's isParentOf: the base's history and layers begin the cache image's.
    state.cacheSources = this.cacheSources.filter((source) => isPrefix(state.history, source.history) && c.rootfs.diff_ids.every((d, i) => source.diffIds[i] === d));
    return state;
  }

  /** The named context a stage's name is given (BuildKit: a context of a stage's name replaces the stage). */
  private override(index: number): NamedEntry | undefined {
    const name = this.dockerfile.stages[index]!.name;
    return name === undefined ? undefined : this.namedContext(name);
  }

  /** The named context `text` (a FROM base, a `--from`) names, if any. */
  private namedContext(text: string): NamedEntry | undefined {
    const key = contextKey(text);
    const context = key === undefined ? undefined : this.named.get(key);
    return context && key !== undefined ? { key, context } : undefined;
  }

  /** A stage FROM a named context: its image's, or a directory's files on nothing, as BuildKit's local source is (no config). */
  private async namedStage(named: NamedEntry, platform: string | undefined): Promise<StageState<S>> {
    if (named.context.type === 'image') return this.imageStage(named.context.ref, platform);
    const source = await this.localContext(named.key, named.context.path);
    const history = source.history ? [source.history] : [];
    const state = new StageState(source.state, source.key, {}, history, platform ? parsePlatform(platform) : this.targetPlatform, undefined);
    state.base = { state: source.state, history: history.length };
    return state;
  }

  /** What `--from=<text>` names besides a stage: a named context, else an image. */
  private async namedSource(text: string): Promise<Source<S>> {
    const named = this.namedContext(text);
    if (named?.context.type === 'local') return this.localContext(named.key, named.context.path);
    return this.resolveImage(named?.context.type === 'image' ? named.context.ref : text, this.options.platform);
  }

  /**
   * A named context's directory as a state: one layer of its files (its own `.dockerignore`
   * applied, owned by root as COPY's are) on nothing, found again by content in the build
   * cache, so an unchanged directory is no new layer and the steps after it stay cached.
   */
  private localContext(name: string, dir: string): Promise<NamedSource<S>> {
    let found = this.locals.get(name);
    if (!found) {
      found = this.makeLocalContext(name, dir);
      this.locals.set(name, found);
    }
    return found;
  }

  private async makeLocalContext(name: string, dir: string): Promise<NamedSource<S>> {
    const items: LayerItem[] = [];
    await walkDirectory({ root: dir, ignore: await readIgnore(dir), what: `build context ${name}` }, '', '', undefined, items);
    const empty = await this.backend.scratch(this.signal);
    if (items.length === 0) return { state: empty, key: rootKey('named-context') };
    const hash = await hashItems(items);
    const key = rootKey('named-context', hash);
    const cached = this.options.noCache ? undefined : await this.backend.cache.get(key);
    if (cached) return { state: cached.state, key, history: cached.history };
    const state = await this.backend.apply(empty, writeLayer(items, undefined, undefined), this.signal);
    const history = { created: this.now(), created_by: copyCreatedBy(defaultShell, 'COPY', 'dir', hash, '/') };
    await this.backend.cache.put(key, { state, history });
    return { state, key, history };
  }

  /** Look up the cache (this machine's, then the `--cache-from` images'), or produce the step's state and remember it. */
  /**
   * `inHistory`: the step's inputs are all in its history entry, so a `--cache-from` image whose
   * history matches made it from the same inputs. Not so for a RUN with mounts: what they
   * bring (a bind's files, a secret) is in no history. `emptyLayer`: the step adds no layer;
   * undefined when only producing it tells (a RUN: `Produced.emptyLayer`).
   */
  private async commitStep(stage: StageState<S>, keyParts: string[], createdBy: string, emptyLayer: boolean | undefined, produce?: () => Promise<Produced<S>>, inHistory = true): Promise<{ hit: boolean }> {
    const key = cacheKey(stage.key, ...keyParts);
    let hit = this.options.noCache ? undefined : await this.backend.cache.get(key);
    if (!hit && !this.options.noCache && inHistory) {
      hit = this.fromCacheSource(stage, createdBy, emptyLayer);
      // Remembered here: the next build finds it without the image.
      if (hit) await this.backend.cache.put(key, hit);
    }
    if (hit) this.emit({ type: 'cache-hit', step: this.step });
    const made = hit || !produce ? undefined : await produce();
    const state = hit?.state ?? made?.state ?? stage.state;
    const empty = made?.emptyLayer ?? emptyLayer === true;
    const history = hit?.history ?? { created: this.now(), created_by: createdBy, ...(empty ? { empty_layer: true } : {}) };
    if (!hit) await this.backend.cache.put(key, { state, history });
    // A cache image stays a source while its history is the stage's; a step made here ends that.
    const at = stage.history.length;
    stage.cacheSources = stage.cacheSources.filter((source) => source.history[at] !== undefined && sameHistory(source.history[at]!, history));
    stage.state = state;
    stage.history.push(history);
    stage.key = key;
    // Every step is an image, the previous step's child (the classic builder's intermediate images).
    const parent = stage.image;
    stage.image = (await this.backend.commit(state, { ...this.imageSpec(stage), ...(parent !== undefined ? { parent } : {}) }, this.signal)).id;
    return { hit: hit !== undefined };
  }

  /** The step as a `--cache-from` image has it next: that history entry, and the image's layers up to it. */
  private fromCacheSource(stage: StageState<S>, createdBy: string, emptyLayer: boolean | undefined): CachedStep<S> | undefined {
    const at = stage.history.length;
    const source = stage.cacheSources.find((s) => s.history[at]?.created_by === createdBy && (emptyLayer === undefined || (s.history[at]?.empty_layer === true) === emptyLayer));
    if (!source) return undefined;
    const layers = source.history.slice(0, at + 1).filter((h) => h.empty_layer !== true).length;
    return { state: this.backend.layerPrefix!(source.state, layers), history: source.history[at]! };
  }

  private async execute(stage: StageState<S>, ins: Instruction, stageIndex: number): Promise<void> {
    try {
      await this.dispatch(stage, ins, stageIndex);
    } catch (e) {
      if (e instanceof DockerfileError) throw e;
      const error = asCtrError(e, 'Internal', `${ins.kind} failed`);
      Object.assign(error.details, { step: this.step, file: ins.location.file, line: ins.location.line });
      throw error;
    }
  }

  /**
   * A step dockerd commits through a container it creates and never starts: an empty layer,
   * unless `own` says what it makes (`produce`: WORKDIR's directory) and its container's
   * command after the shell (`comment`, the history's text too), when not `#(nop) ` and `text`.
   */
  private async metadata(stage: StageState<S>, text: string, own?: { comment: string[]; produce: () => Promise<Produced<S>> }): Promise<void> {
    const parent = stage.image;
    const cmd = [...stage.shell, ...(own?.comment ?? ['#(nop) ', text])];
    const createdBy = own ? cmd.join(' ') : nopCreatedBy(stage.shell, text);
    const { hit } = await this.commitStep(stage, own ? [createdBy] : [text], createdBy, own ? undefined : true, own?.produce);
    if (hit) return;
    // dockerd commits a metadata step through a container it creates (never starts) and removes,
    // unless `--rm=false` (without `--force-rm`): then it stays, of the image the step began from.
    if (this.options.remove !== false || this.options.forceRemove) {
      // None is made here, where nothing would keep it.
      const container = randomBytes(6).toString('hex');
      this.emit({ type: 'container', step: this.step, id: container });
      this.emit({ type: 'container-removed', step: this.step, id: container });
    } else if (this.backend.keepCommitContainer) {
      // A stage with no image before this step (scratch) has the step's own: the same files.
      const id = await this.backend.keepCommitContainer(parent ?? stage.image!, cmd, this.signal);
      this.emit({ type: 'container', step: this.step, id });
    }
  }

  /**
   * WORKDIR as dockerd's classic builder does it (ContainerCreateWorkdir): the directory, made
   * where it is missing (0755, root's whatever USER says: MkdirAllAndChownNew with the root
   * identity), is the step's layer; one already there leaves the step an empty layer. Its
   * comment is one word (withCmdCommentString): one space after `#(nop)`, not ENV's two.
   */
  private async workdirStep(stage: StageState<S>, text: string): Promise<void> {
    const dir = stage.workdir;
    // Looked at only when the step is not in the cache, as dockerd creates its container only then.
    const produce = async (): Promise<Produced<S>> => {
      const made = await this.backend.view(
        stage.state,
        async (root) => {
          const found = resolveInRoot(root, dir);
          if (found.unresolved?.reason === 'not-a-directory' || (found.stat && !found.stat.isDirectory())) {
            throw invalidArgument(`Cannot mkdir: ${dir} is not a directory`, { hint: 'Name a directory, or a path whose parts are not files, in WORKDIR.' });
          }
          return createdDirectories(root, found.rel, new Set(), new Date(this.now()), 'root');
        },
        this.signal,
      );
      if (made.length === 0) return { state: stage.state, emptyLayer: true };
      return { state: await this.backend.apply(stage.state, writeLayer(made, undefined, undefined), this.signal) };
    };
    await this.metadata(stage, text, { comment: [`#(nop) ${text}`], produce });
  }

  /** dockerd's dispatchHealthcheck: a check replaced (the base image's too, not NONE) is said before the step commits, cached or not. */
  private noteHealthcheckOverride(stage: StageState<S>): void {
    const previous = stage.config.Healthcheck?.Test ?? [];
    if (previous.length > 0 && previous[0] !== 'NONE') this.emit({ type: 'note', step: this.step, message: `overriding previous HEALTHCHECK: [${previous.join(' ')}]` });
  }

  private async dispatch(stage: StageState<S>, ins: Instruction, stageIndex: number): Promise<void> {
    const env = stage.expansionEnv();
    const x = (word: string): string => this.expand(word, env, ins);
    if (ins.kind === 'WORKDIR') return this.workdirStep(stage, applyConfigInstruction(stage.config, ins, x, stage));
    const words = (word: string): string[] => located(ins, () => this.lex.processWords(word, env));
    if (ins.kind === 'HEALTHCHECK') this.noteHealthcheckOverride(stage);
    if (isConfigInstruction(ins)) return this.metadata(stage, applyConfigInstruction(stage.config, ins, x, stage, words));
    switch (ins.kind) {
      case 'FROM':
        throw new DockerfileError('FROM cannot be used here', ins.location);
      case 'RUN':
        return this.runStep(stage, ins, stageIndex);
      case 'COPY':
      case 'ADD':
        return this.copyStep(stage, ins, stageIndex);
      case 'ARG': {
        const texts: string[] = [];
        for (const def of ins.args) {
          this.declared.add(def.key);
          const fallback = def.value === undefined ? this.metaEnv.get(def.key) : x(def.value);
          const value = this.buildArgs.get(def.key) ?? fallback;
          if (value !== undefined) stage.args.set(def.key, value);
          texts.push(def.value === undefined ? def.key : `${def.key}=${fallback ?? ''}`);
        }
        return this.metadata(stage, `ARG ${texts.join(' ')}`);
      }
      case 'MAINTAINER':
        stage.author = ins.maintainer;
        return this.metadata(stage, `MAINTAINER ${ins.maintainer}`);
    }
  }

  private runArgv(stage: StageState<S>, ins: RunInstruction): string[] {
    if (!ins.shell) return [...ins.command];
    const line = ins.command[0] ?? '';
    const doc = ins.heredocs[0];
    if (ins.heredocs.length === 1 && doc && /^<<-?\s*\S+$/.test(line.trim())) {
      // `RUN <<EOF` alone: the body is the script
      return [...stage.shell, doc.chomp ? chompHeredocContent(doc.content) : doc.content];
    }
    // otherwise the shell itself reads the here-documents that follow the command line
    const script = [line, ...ins.heredocs.map((d) => d.content + d.name)].join('\n');
    return [...stage.shell, script];
  }

  /** A RUN's `--mount`s: parsed with the step's variables, their sources found. */
  private async runMounts(stage: StageState<S>, ins: RunInstruction, stageIndex: number): Promise<MountPlan> {
    const env = stage.expansionEnv();
    try {
      const flags = ins.mounts.map((text) => parseMountFlag(text, (word) => this.expand(word, env, ins)));
      return await planMounts(flags, stage.workdir, {
        backend: this.backend,
        context: this.context,
        source: (from) => this.copySource(from, stageIndex),
        secrets: new Map(Object.entries(this.options.secrets ?? {})),
        ssh: new Map(Object.entries(this.options.ssh ?? {})),
        scratchDir: this.options.scratchDir ?? os.tmpdir(),
        signal: this.signal,
      });
    } catch (e) {
      if (e instanceof SyntaxProblem) throw new DockerfileError(e.message, ins.location, { cause: e });
      throw e;
    }
  }

  private async runStep(stage: StageState<S>, ins: RunInstruction, stageIndex: number): Promise<void> {
    if (ins.security !== undefined && ins.security !== 'sandbox') {
      throw new CtrError('Denied', `RUN --security=${ins.security} is not allowed`, { hint: 'Insecure builds need an entitlement this builder does not grant.' });
    }
    // No flag is BuildKit's `default`: the network the build was given (docker's default bridge unless told otherwise).
    const network = ins.network ?? 'default';
    if (network !== 'none' && network !== 'default' && network !== 'host') throw new DockerfileError(`unsupported network mode: ${network}`, ins.location);
    if (network === 'host' && !this.options.allow?.networkHost) {
      throw new CtrError('Denied', 'RUN --network=host is not allowed', { hint: 'Allow it with the networkHost entitlement (docker: --allow network.host).' });
    }
    const args = this.runArgv(stage, ins);
    const runArgs = stage.runArgs();
    const createdBy = runCreatedBy(args, runArgs);
    const envMap = stage.envMap();
    const proxies = [...this.buildArgs].filter(([k]) => (proxyArgs as readonly string[]).includes(k) && !stage.args.has(k) && !envMap.has(k));
    const mounts = ins.mounts.length > 0 ? await this.runMounts(stage, ins, stageIndex) : undefined;
    const step: RunStep = {
      args,
      env: [...(stage.config.Env ?? []), ...runArgs, ...proxies.map(([k, v]) => `${k}=${v}`), ...(mounts?.env ?? [])],
      user: stage.config.User ?? '',
      workdir: stage.workdir,
      network,
    };
    const keep = await this.keepContainer(stage);
    if (keep) step.keep = keep;
    const stepNo = this.step;
    const sink = (stream: 'stdout' | 'stderr'): Writable =>
      new Writable({
        write: (chunk: Buffer, _enc, done) => {
          this.emit({ type: 'output', step: stepNo, stream, data: chunk });
          done();
        },
      });
    await this.commitStep(stage, ['RUN', createdBy, network, ...(mounts?.keyParts ?? [])], createdBy, undefined, async () => {
      let container: string | undefined;
      const created = (id: string): void => {
        container = id;
        this.emit({ type: 'container', step: stepNo, id });
      };
      const io = { stdout: sink('stdout'), stderr: sink('stderr'), created };
      const runWith = (lent: RunMount[]): Promise<RunResult<S>> =>
        this.withVolumes(stage, (volumes) => {
          const all = [...lent, ...volumes];
          return this.backend.run(stage.state, all.length > 0 ? { ...step, mounts: all } : step, io, this.signal);
        });
      const result = mounts ? await mounts.lend(runWith) : await runWith([]);
      // dockerd's order: a removal is said before the step's error.
      const removed = result.state !== undefined ? result.kept !== true : result.kept === false;
      if (container !== undefined && removed) this.emit({ type: 'container-removed', step: stepNo, id: container });
      if (result.state !== undefined) return { state: result.state, emptyLayer: 'emptyLayer' in result && result.emptyLayer === true };
      throw new CtrError('InvalidArgument', `The command '${args.join(' ')}' returned a non-zero code: ${result.exitCode}`, {
        details: { step: stepNo, file: ins.location.file, line: ins.location.line, exitCode: result.exitCode, command: args },
      });
    }, mounts === undefined);
  }

  /**
   * The stage's VOLUMEs as a RUN step's container has them in dockerd's classic builder: an
   * anonymous volume at each, filled from what the image has there (a volume's copy-up), so
   * the step can write there and what it writes is in no layer. Here each is a writable bind
   * of the stage's own directory, whose writes the backend throws away (an empty directory
   * where the image has none).
   */
  private async withVolumes<T>(stage: StageState<S>, use: (mounts: RunMount[]) => Promise<T>): Promise<T> {
    const targets = Object.keys(stage.config.Volumes ?? {}).map((v) => cleanPath(`/${v}`));
    if (targets.length === 0) return use([]);
    const empty = await fs.mkdtemp(path.join(this.options.scratchDir ?? os.tmpdir(), 'ctr-build-volume-'));
    try {
      await fs.chmod(empty, 0o755);
      return await this.backend.view(
        stage.state,
        (root) =>
          use(
            targets.map((target): RunMount => {
              const found = resolveInRoot(root, target);
              return { type: 'bind', target, source: found.stat?.isDirectory() ? found.abs : empty, readOnly: false };
            }),
          ),
        this.signal,
      );
    } finally {
      await fs.rm(empty, { recursive: true, force: true });
    }
  }

  /**
   * COPY --from: an earlier stage by name or index, else an image. Failures say the flag's value
   * first, as dockerd's dispatchCopy wraps them; a number is a stage index and never an image
   * (dockerd's stagesBuildResults.get), so one that names no earlier stage is an error.
   */
  private async copySource(text: string, stageIndex: number): Promise<Source<S>> {
    const ref = this.stageRef(text, stageIndex, true);
    if (ref !== undefined) {
      const built = await this.buildStage(ref);
      return { state: built.state, key: built.key };
    }
    // dockerd's words alone (the API appends a hint to a message): only a cause's own hint is kept.
    const flagError = (reason: string, cause?: CtrError): CtrError =>
      new CtrError(cause?.code ?? 'InvalidArgument', `invalid from flag value ${text}: ${reason}`, {
        ...(cause ? { cause } : {}),
        ...(cause?.hint !== undefined ? { hint: cause.hint } : {}),
      });
    if (/^[+-]?\d+$/.test(text)) throw flagError(Number(text) === stageIndex ? 'refers to current build stage' : 'index out of bounds');
    return this.namedSource(text).catch((error: unknown) => {
      const failed = asCtrError(error);
      throw flagError(failed.message, failed);
    });
  }

  private async copyStep(stage: StageState<S>, ins: CopyInstruction, stageIndex: number): Promise<void> {
    const env = stage.expansionEnv();
    const x = (word: string): string => this.expand(word, env, ins);
    if (ins.parents) throw unsupported(`${ins.kind} --parents is not supported by this builder yet`);
    const sources = ins.sources.map(x);
    const destText = x(ins.dest);
    const chown = ins.chown !== undefined ? x(ins.chown) : undefined;
    let chmod: number | undefined;
    try {
      chmod = ins.chmod !== undefined ? parseChmod(x(ins.chmod)) : undefined;
    } catch (e) {
      throw new DockerfileError((e as Error).message, ins.location);
    }
    const dest = cleanPath(destText.startsWith('/') ? destText : `${stage.workdir}/${destText}`);
    const destRel = dest.slice(1);
    const destSaysDir = destText.endsWith('/') || /(^|\/)\.\.?$/.test(destText);
    const exclude = ins.exclude.length > 0 ? new PatternMatcher(ins.exclude.map(x)) : undefined;
    // As planned (an ONBUILD trigger's COPY, in no plan, expands here).
    const from = ins.from !== undefined ? await this.copySource(this.plannedFrom.get(ins) ?? x(ins.from), stageIndex) : undefined;
    const urls = sources.filter((s) => ins.kind === 'ADD' && /^https?:\/\//i.test(s));
    const local = sources.filter((s) => !urls.includes(s));
    // downloads go to a private directory, made only when there are any
    const scratch = urls.length > 0 ? await fs.mkdtemp(path.join(this.options.scratchDir ?? os.tmpdir(), 'ctr-build-add-')) : '';
    try {
      const withSource = async (use: (src: SourceRoot) => Promise<void>): Promise<void> => {
        if (!from) return use({ root: this.context.root, ignore: this.context.ignore, what: 'build context' });
        // dockerd's preserveOwnership: what `--from` copies without `--chown` keeps its owners there.
        return this.backend.view(from.state, (root) => use({ root, what: `--from=${ins.from}`, keepOwners: chown === undefined }), this.signal);
      };
      await this.backend.view(
        stage.state,
        (stateRoot) =>
          withSource(async (src) => {
            const items: LayerItem[] = [];
            const matches = (await Promise.all(local.map((s) => matchSource(src, s, ins.kind)))).flat();
            const count = matches.length + urls.length + ins.sourceContents.length;
            // dockerd's copyInfo.fullPath (ResolveScopedPath): the destination's links are followed,
            // inside the image's root, so a COPY to a link (merged /usr's /lib) writes where it leads.
            const resolvedDest = resolveInRoot(stateRoot, destRel);
            const destAt = resolvedDest.rel;
            const existsAsDir = resolvedDest.stat?.isDirectory() ?? false;
            const intoDir = destSaysDir || existsAsDir || count > 1 || (count === 1 && matches[0]?.stat.isDirectory() === true);
            if (count > 1 && !destSaysDir && !existsAsDir) {
              throw new DockerfileError(`When using ${ins.kind} with more than one source file, the destination must be a directory and end with a /`, ins.location);
            }
            const target = (name: string): string => (intoDir ? (destAt === '' ? name : `${destAt}/${name}`) : destAt);
            // Each source makes the directories it goes into, at the build's time (MkdirAll's now), as dockerd copies them one by one.
            const made = new Set<string>();
            const buildTime = new Date(this.now());
            const directories = (rel: string, madeFor: MadeFor): LayerItem[] => {
              mustBeDirectory(stateRoot, rel, madeFor === 'file' ? 'failed to create new directory' : 'failed to copy directory');
              return createdDirectories(stateRoot, rel, made, buildTime, madeFor);
            };
            const fileDirectories = (): LayerItem[] => directories(intoDir ? destAt : path.posix.dirname(destAt), 'file');
            for (const m of matches) {
              const full = path.join(src.root, m.rel);
              if (m.stat.isDirectory()) {
                items.push(...directories(destAt, 'directory'));
                await walkDirectory(src, m.rel, destAt, exclude, items);
              } else if (exclude?.matches(path.posix.basename(m.rel))) continue;
              else if (ins.kind === 'ADD' && ins.unpack !== false && !from && (await isArchive(full))) items.push(...directories(destAt, 'root'), { kind: 'archive', name: destAt, source: full });
              else items.push(...fileDirectories(), fileItem(src, target(path.posix.basename(m.rel)), full, m.stat));
            }
            for (const url of urls) items.push(...fileDirectories(), await download(url, scratch, target(urlName(url)), { checksum: ins.checksum, signal: this.signal, fetch: this.backend.fetch }));
            for (const content of ins.sourceContents) {
              const data = content.expand ? this.expand(content.data, env, ins, this.heredocLex) : content.data;
              items.push(...fileDirectories(), { kind: 'data', name: target(content.path), mode: 0o644, data: Buffer.from(data) });
            }
            const hash = await hashItems(items);
            const kind = count === 1 ? (matches[0]?.stat.isDirectory() ? 'dir' : 'file') : 'multi';
            const createdBy = copyCreatedBy(stage.shell, ins.kind, kind, hash, dest);
            // Nothing to write (an empty directory into one that is there) is no layer, as dockerd's empty diff is none.
            const nothing = items.length === 0;
            await this.commitStep(stage, [ins.kind, from?.key ?? 'context', hash, dest, chown ?? '', String(chmod ?? '')], createdBy, nothing, async () => {
              if (nothing) return { state: stage.state, emptyLayer: true };
              const owner = chown !== undefined ? await resolveChown(chown, stateRoot) : undefined;
              return { state: await this.backend.apply(stage.state, writeLayer(items, owner, chmod), this.signal) };
            });
          }),
        this.signal,
      );
    } finally {
      if (scratch) await fs.rm(scratch, { recursive: true, force: true });
    }
  }
}

/**
 * dockerd's MkdirAll of a copy's directory (`rel`, resolved in `root`): a file on the way is
 * ENOTDIR, said at the first such part as Go's MkdirAll says it, never replaced by a directory.
 */
function mustBeDirectory(root: string, rel: string, doing: string): void {
  const found = resolveInRoot(root, rel);
  const at = found.unresolved?.reason === 'not-a-directory' ? found.unresolved.at : found.stat && !found.stat.isDirectory() ? found.rel : undefined;
  if (at === undefined) return;
  // dockerd's words alone: the API would append a hint to them.
  throw invalidArgument(`failed to copy files: ${doing}: mkdir /${at}: not a directory`);
}

/** What `fn` gives; its shell syntax errors said at `at`'s place in the Dockerfile. */
function located<T>(at: Instruction, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof SyntaxProblem) throw new DockerfileError(e.message, at.location, { cause: e });
    throw e;
  }
}

/** History entries as docker compares them for its cache (every field; an absent `empty_layer` is false). */
function sameHistory(a: HistoryEntry, b: HistoryEntry): boolean {
  const fields = (h: HistoryEntry): unknown[] => [h.created, h.created_by, h.author, h.comment, h.empty_layer === true];
  return JSON.stringify(fields(a)) === JSON.stringify(fields(b));
}

/** Whether `history` begins `longer` (and is shorter). */
function isPrefix(history: HistoryEntry[], longer: HistoryEntry[]): boolean {
  return history.length < longer.length && history.every((h, i) => sameHistory(h, longer[i]!));
}

/**
 * Build an image from a Dockerfile and a context through a backend. Resolves with the image
 * ID once the final image is committed; nothing is tagged (the caller tags on success, so a
 * failed build leaves no tag behind).
 */
export async function build<S>(options: BuildOptions<S>): Promise<BuildResult> {
  const signal = options.signal ?? new AbortController().signal;
  // buildx's order: named contexts and the output are checked (a tar file opened) before the context is sent.
  const named = await resolveNamedContexts(options.buildContexts ?? {});
  const output = options.output ? await openOutput(options.output) : undefined;
  const context = isRemoteContextSource(options.context)
    ? await openRemoteContext(options.context.remote, {
        ...(options.dockerfile !== undefined ? { dockerfile: options.dockerfile } : {}),
        ...(options.scratchDir !== undefined ? { scratchDir: options.scratchDir } : {}),
        ...(options.backend.fetch ? { fetch: options.backend.fetch } : {}),
        signal,
      })
    : await openContext(options.context, signal, options.scratchDir);
  try {
    // A Dockerfile sent as the context names itself: another one besides is docker's CLI's error.
    if (context.dockerfile !== undefined && (options.dockerfile !== undefined || options.dockerfileContent !== undefined)) {
      throw invalidArgument('ambiguous Dockerfile source: both stdin and flag correspond to Dockerfiles');
    }
    const file = context.dockerfile ?? options.dockerfile ?? 'Dockerfile';
    const source = options.dockerfileContent ?? (await readContextFile(context, file));
    // dockerd's check, before any parsing (an empty `docker build - < /dev/null` meets it).
    if (source.length === 0) throw invalidArgument(`the Dockerfile (${file}) cannot be empty`);
    const dockerfile = parseDockerfile(source, { file });
    return await new Build({ ...options, signal }, dockerfile, context, named, output).run();
  } finally {
    await context.dispose();
  }
}

