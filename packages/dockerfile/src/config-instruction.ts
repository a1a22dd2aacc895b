import { withEnv, type ContainerConfig, type HealthConfig } from '@ctr/image';
import { cleanPath } from './clean-path';
import { exposedPorts, isSignal } from './config-values';
import { healthText } from './created-by';
import { DockerfileError } from './dockerfile-error';
import { goQuoteList } from './go-quote';
import type { Instruction } from './instructions';
import { configShell, configWorkdir } from './stage-state';

/** The instructions that change only an image's config: a build records each as an empty layer. */
export type ConfigInstruction = Extract<
  Instruction,
  { kind: 'ENV' | 'LABEL' | 'WORKDIR' | 'USER' | 'CMD' | 'ENTRYPOINT' | 'SHELL' | 'EXPOSE' | 'VOLUME' | 'STOPSIGNAL' | 'HEALTHCHECK' | 'ONBUILD' }
>;

const CONFIG_KINDS = new Set<Instruction['kind']>(['ENV', 'LABEL', 'WORKDIR', 'USER', 'CMD', 'ENTRYPOINT', 'SHELL', 'EXPOSE', 'VOLUME', 'STOPSIGNAL', 'HEALTHCHECK', 'ONBUILD']);

export function isConfigInstruction(ins: Instruction): ins is ConfigInstruction {
  return CONFIG_KINDS.has(ins.kind);
}

/** What a run of config instructions carries from one to the next. */
export interface ConfigSteps {
  /** CMD was set in this run: ENTRYPOINT then keeps it, otherwise it clears an inherited CMD. */
  cmdSet: boolean;
}

/**
 * Apply `ins` to `config` (in place) as a Dockerfile does — a build's stage, `docker commit
 * --change` and `docker import --change` alike; `expand` processes a word (`$VAR`, quotes),
 * `expandWords` a word into the words it becomes (EXPOSE's; by default the one word `expand`
 * gives). Returns the instruction as a build's history records it.
 */
export function applyConfigInstruction(
  config: ContainerConfig,
  ins: ConfigInstruction,
  expand: (word: string) => string,
  steps: ConfigSteps,
  expandWords: (word: string) => string[] = (word) => [expand(word)],
): string {
  const shell = configShell(config);
  switch (ins.kind) {
    case 'ENV': {
      // Every value is expanded before any of the instruction's own are set.
      const pairs = ins.env.map(({ key, value }) => [expand(key), expand(value)] as const);
      for (const [k, v] of pairs) config.Env = withEnv(config.Env, k, v);
      return `ENV ${pairs.map(([k, v]) => `${k}=${v}`).join(' ')}`;
    }
    case 'LABEL': {
      const pairs = ins.labels.map(({ key, value }) => [expand(key), expand(value)] as const);
      config.Labels = { ...config.Labels, ...Object.fromEntries(pairs) };
      return `LABEL ${pairs.map(([k, v]) => `${k}=${v}`).join(' ')}`;
    }
    case 'WORKDIR': {
      const dir = expand(ins.path);
      config.WorkingDir = cleanPath(dir.startsWith('/') ? dir : `${configWorkdir(config)}/${dir}`);
      return `WORKDIR ${config.WorkingDir}`;
    }
    case 'USER':
      config.User = expand(ins.user);
      return `USER ${config.User}`;
    case 'CMD':
      config.Cmd = ins.shell ? [...shell, ...ins.command] : [...ins.command];
      steps.cmdSet = true;
      return `CMD ${goQuoteList(config.Cmd)}`;
    case 'ENTRYPOINT':
      config.Entrypoint = ins.shell ? [...shell, ...ins.command] : [...ins.command];
      if (!steps.cmdSet) delete config.Cmd; // an inherited CMD is meant for the old entrypoint
      return `ENTRYPOINT ${goQuoteList(config.Entrypoint)}`;
    case 'SHELL':
      config.Shell = [...ins.shell];
      return `SHELL [${config.Shell.join(' ')}]`;
    case 'EXPOSE': {
      // dockerd's one word-to-words expansion (PORTS="80 443/udp": `EXPOSE $PORTS` is two ports);
      // its history has the words as written, not the `80/tcp` keys they make.
      const words = ins.ports.flatMap(expandWords);
      const ports = words.flatMap((p) => exposedPorts(p, ins));
      config.ExposedPorts = { ...config.ExposedPorts, ...Object.fromEntries(ports.map((p) => [p, {}])) };
      return `EXPOSE ${words.join(' ')}`;
    }
    case 'VOLUME': {
      const volumes = ins.volumes.map(expand);
      if (volumes.some((v) => v.trim() === '')) throw new DockerfileError('VOLUME specified can not be an empty string', ins.location);
      config.Volumes = { ...config.Volumes, ...Object.fromEntries(volumes.map((v) => [v, {}])) };
      return `VOLUME [${volumes.join(' ')}]`;
    }
    case 'STOPSIGNAL': {
      const signal = expand(ins.signal);
      if (!isSignal(signal)) throw new DockerfileError(`Invalid signal: ${signal}`, ins.location);
      config.StopSignal = signal;
      return `STOPSIGNAL ${signal}`;
    }
    case 'HEALTHCHECK': {
      const h = ins.health;
      const health: HealthConfig = { Test: h.test };
      if (h.interval !== undefined) health.Interval = h.interval;
      if (h.timeout !== undefined) health.Timeout = h.timeout;
      if (h.startPeriod !== undefined) health.StartPeriod = h.startPeriod;
      if (h.startInterval !== undefined) health.StartInterval = h.startInterval;
      if (h.retries !== undefined) health.Retries = h.retries;
      config.Healthcheck = health;
      return `HEALTHCHECK ${healthText(health)}`;
    }
    case 'ONBUILD':
      config.OnBuild = [...(config.OnBuild ?? []), ins.expression];
      return `ONBUILD ${ins.expression}`;
  }
}
