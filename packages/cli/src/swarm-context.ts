import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { SwarmApi, SwarmInfo } from '@ctr/swarm';
import { apiModule, currentEndpoint, localEngine, selfCommand, swarmDefaultAdvertiseAddr } from './context';
import { answeringAsDaemon, fromDaemon } from './errors';

/**
 * The swarm the swarm verbs drive, as `getEngine` chooses the engine: the in-process Swarm
 * over this process's engine (daemonless, as compose runs), or the daemon's through @ctr/api's
 * RemoteSwarm when `-H` or a context names one. Either way what it refuses is the daemon's
 * answer (`Error response from daemon: This node is not a swarm manager…`), as docker's CLI
 * prints dockerd's. @ctr/swarm is required here, on first use: `ctr run` never loads it.
 */

let swarm: Promise<SwarmApi> | undefined;
let close: (() => void) | undefined;
let given: SwarmApi | undefined;

async function openSwarm(): Promise<SwarmApi> {
  if (given) return given;
  const where = await currentEndpoint();
  if (where.kind === 'remote') {
    // No credentials of its own: docker sends one only with `--with-registry-auth`, which the command gives.
    const remote = new (apiModule().RemoteSwarm)({ host: where.host, ...(where.tls ? { tls: where.tls } : {}) });
    close = () => remote.close();
    const { isCtrError } = require('@ctr/errors') as typeof import('@ctr/errors');
    return answeringAsDaemon<SwarmApi>(remote, (error) => isCtrError(error) && error.details.status !== undefined);
  }
  const { Swarm } = require('@ctr/swarm') as typeof import('@ctr/swarm');
  const defaultAdvertiseAddr = swarmDefaultAdvertiseAddr();
  return answeringAsDaemon<SwarmApi>(new Swarm({ engine: localEngine(), agentCommand: [...selfCommand(), 'swarm', 'agent'], ...(defaultAdvertiseAddr ? { defaultAdvertiseAddr } : {}) }));
}

/** The command's swarm, opened once per command. */
export function getSwarm(): Promise<SwarmApi> {
  swarm ??= openSwarm();
  return swarm;
}

/** Let go of a daemon connection once the command is done. */
export function closeSwarm(): void {
  close?.();
  close = undefined;
  swarm = undefined;
}

/** Tests of the commands' parsing and output: every verb then drives `api` (undefined: back to the real one). */
export function useSwarmForTests(api: SwarmApi | undefined): void {
  given = api;
  swarm = undefined;
}

/** The label swarm mode puts on a task's container: its task's ID. */
const TASK_LABEL = 'com.docker.swarm.task.id';

/**
 * conmon's exit command for a container that was a swarm task (`ctr container cleanup`, after
 * the engine's handleExit): the swarm records the exit and replaces the task as its restart
 * policy says. The container's record (one small JSON file) says whether it is a task, so
 * the exit of any other container never loads @ctr/swarm.
 */
export async function swarmTaskExited(engine: import('@ctr/engine').Engine, id: string): Promise<void> {
  let labels: Record<string, string> | undefined;
  try {
    labels = (JSON.parse(readFileSync(path.join(engine.root, 'engine', 'containers', `${id}.json`), 'utf8')) as { labels?: Record<string, string> }).labels;
  } catch {
    // Removed meanwhile (`--rm`, `rm -f`), or not a full ID: no task of a swarm's to answer for.
    return;
  }
  if (labels?.[TASK_LABEL] === undefined) return;
  const { Swarm } = require('@ctr/swarm') as typeof import('@ctr/swarm');
  await new Swarm({ engine }).containerExited(id);
}

/**
 * `info`'s Swarm section of the engine in this process: the engine knows nothing of swarm mode,
 * so a root that has a swarm (its `swarm` directory, one stat for every other root) asks it.
 * Through `-H` the daemon's /info says it already: undefined then, as for no swarm.
 */
export async function localSwarmInfo(): Promise<SwarmInfo | undefined> {
  if ((await currentEndpoint()).kind === 'remote') return undefined;
  const engine = localEngine();
  if (!existsSync(path.join(engine.root, 'swarm'))) return undefined;
  const { Swarm } = require('@ctr/swarm') as typeof import('@ctr/swarm');
  return new Swarm({ engine }).info();
}

/**
 * `network create` of a swarm-scoped network (`-d overlay`, `--scope swarm`, `--ingress`) on
 * the engine in this process: the swarm makes it when this root is in one, and otherwise the
 * engine refuses it in dockerd's words. Undefined for any other request, and through `-H`
 * (the daemon routes it itself).
 */
export async function createSwarmScopedNetwork(options: import('@ctr/network').NetworkCreateOptions): Promise<import('@ctr/network').NetworkInspect | undefined> {
  if ((await currentEndpoint()).kind === 'remote') return undefined;
  const { Swarm, createSwarmNetwork, isSwarmRequest } = require('@ctr/swarm') as typeof import('@ctr/swarm');
  if (!isSwarmRequest(options)) return undefined;
  try {
    return await createSwarmNetwork(new Swarm({ engine: localEngine() }).context(), options);
  } catch (error) {
    throw fromDaemon(error);
  }
}

/**
 * `network rm` on the engine in this process when its root has a swarm: the swarm removes it,
 * refusing a network a service uses as swarmkit does. False (the engine's to remove) through
 * `-H` (the daemon guards it itself) and on a root with no swarm (one stat; @ctr/swarm unloaded).
 */
export async function removeSwarmScopedNetwork(name: string): Promise<boolean> {
  if ((await currentEndpoint()).kind === 'remote') return false;
  const engine = localEngine();
  if (!existsSync(path.join(engine.root, 'swarm'))) return false;
  const { Swarm, removeSwarmNetwork } = require('@ctr/swarm') as typeof import('@ctr/swarm');
  try {
    await removeSwarmNetwork(new Swarm({ engine }).context(), name);
  } catch (error) {
    throw fromDaemon(error);
  }
  return true;
}
