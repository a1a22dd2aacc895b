import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { conflict } from '@ctr/errors';
import type { NetworkSettings } from '@ctr/network';
import { hostsContent } from '@ctr/runtime';
import { writeFileAtomic } from '@ctr/store';
import type { ContainerRecord } from './container-records';
import type { EngineContext } from './context';
import { underContainerLock } from './container-lock';
import { networkPluginsModule } from './lazy-modules';

/** Where the notes of network plugins' endpoints are kept (plugins/network-driver.ts writes them). */
export function endpointNotesDir(runRoot: string): string {
  return path.join(runRoot, 'network-plugins');
}

/**
 * A container's network follows its runs, as dockerd's allocateNetwork and releaseNetwork do:
 * its create records what it is connected to; each start allocates its namespace, addresses,
 * names in the embedded DNS and published ports; each exit releases them, whoever sees it —
 * `stop`, a caller waiting for the exit (an attached `run`, `start -a`, `wait`), an engine's
 * monitor, conmon's exit command, a later engine's `recover` — and a start finds the namespace
 * of an allocation the machine lost (a reboot) and makes it again. A start and a release never
 * interleave: both hold the container's network lock, and a release under it leaves a running
 * container alone, so an observer of the last exit that comes late cannot take the next run's.
 */

const NETWORK_LOCKS = 'network-locks';

type Networked = Pick<ContainerRecord, 'id' | 'network'>;

/** Whether a start allocates anything for the container: a namespace of its own, or a join of another's. */
function allocates(record: Networked): boolean {
  return record.network.mode !== 'none' && record.network.mode !== 'host';
}

/** Whether the container runs (paused counts, as in dockerd's State.Running); one the runtime cannot read does not. */
export async function isRunning(ctx: EngineContext, id: string): Promise<boolean> {
  return (await ctx.runtime.state(id).catch(() => undefined))?.running ?? false;
}

/** A container's own address on its first network, if it has a namespace of its own. */
export function ownAddress(settings: NetworkSettings | undefined): string | undefined {
  return settings?.IPAddress || Object.values(settings?.Networks ?? {})[0]?.IPAddress || undefined;
}

/**
 * Run `start` (the container's process start) with its network allocated, under the network
 * lock; a start that fails releases it again. `allocated`: a new container's, made with its
 * create (`run` makes it beside the root filesystem) — no earlier run can race with this one.
 */
export async function startNetworked<T>(ctx: EngineContext, record: ContainerRecord, start: () => Promise<T>, options: { allocated?: boolean } = {}): Promise<T> {
  if (!allocates(record)) return start();
  const run = async (): Promise<T> => {
    try {
      return await start();
    } catch (error) {
      await ctx.network.release(record.id).catch(() => undefined);
      throw error;
    }
  };
  if (options.allocated && !record.network.mode.startsWith('container:')) return run();
  return underContainerLock(ctx, NETWORK_LOCKS, record.id, async () => {
    const allocation = await ctx.network.allocate(record.id);
    if (allocation.made) await ctx.events.networks('connect', record.id, allocation.settings.Networks);
    try {
      if (allocation.sharedWith !== undefined) await joinFiles(ctx, record, allocation.sharedWith);
      else if (allocation.made) {
        // A new sandbox's files, as libnetwork writes them at each start: resolv.conf made again
        // from the host's and the networks the container is on now (edited or not before).
        const { bundle } = await ctx.runtime.inspect(record.id);
        await Promise.all([writeHosts(bundle, record, ownAddress(allocation.settings)), writeResolvConf(bundle, allocation.resolvConf)]);
      }
    } catch (error) {
      await ctx.network.release(record.id).catch(() => undefined);
      throw error;
    }
    return run();
  });
}

/**
 * After an exit: the network comes off unless the container runs again (a restart already
 * made the next run's). Never fails: whoever sees an exit has nobody to tell, and what stays
 * is released by the next start or `rm`.
 */
export async function releaseNetwork(ctx: EngineContext, record: Networked): Promise<void> {
  if (!allocates(record)) return;
  await underContainerLock(ctx, NETWORK_LOCKS, record.id, async () => {
    if (await isRunning(ctx, record.id)) return;
    // What it has endpoints on until now: their disconnect events, once (later observers find none).
    const connected = (await ctx.network.settings(record.id).catch(() => undefined))?.Networks ?? {};
    await ctx.network.release(record.id);
    await ctx.events.networks('disconnect', record.id, connected);
    // A plugin's endpoint the release found no driver for (conmon's exit command cannot find the plugin by name).
    // Looked for before the plugin code is loaded: most containers never had a plugin's endpoint.
    if (existsSync(endpointNotesDir(ctx.runRoot))) await networkPluginsModule().releaseNotedEndpoints(ctx.runRoot, Object.values(connected).map((n) => n.EndpointID));
  }).catch(() => undefined);
}

/**
 * `container:<name|id>`, as moby's initializeNetworking: the other container must be running, and
 * this one gets its hostname, hosts and resolv.conf (dockerd shares the files; here they are
 * copied at each start, when they are the other's current ones).
 */
async function joinFiles(ctx: EngineContext, record: ContainerRecord, ownerId: string): Promise<void> {
  if (!(await isRunning(ctx, ownerId))) {
    // Named as the network mode names it, as dockerd does (docker-compose gives the ID).
    throw conflict(`cannot join network of a non running container: ${record.network.mode.slice('container:'.length)}`);
  }
  const [owner, own] = await Promise.all([ctx.runtime.inspect(ownerId), ctx.runtime.inspect(record.id)]);
  await Promise.all(['hosts', 'resolv.conf', 'hostname'].map((file) => copyFile(path.join(owner.bundle, file), path.join(own.bundle, file))));
}

/** /etc/hosts names the container's address of this run, which a start may have changed. */
async function writeHosts(bundle: string, record: ContainerRecord, address: string | undefined): Promise<void> {
  const { ipAddress: _earlier, ...run } = record.run;
  await writeFile(path.join(bundle, 'hosts'), hostsContent(record.run.hostname ?? record.id.slice(0, 12), address ? { ...run, ipAddress: address } : run));
}

/**
 * Beside the container's resolv.conf, the digest of what ctr last wrote there (libnetwork's
 * `resolv.conf.hash`): a file that no longer matches it was changed by the user.
 */
const RESOLV_CONF_HASH = 'resolv.conf.hash';

function digestOf(content: string | Buffer): string {
  return `sha256:${createHash('sha256').update(content).digest('hex')}`;
}

/**
 * The container's resolv.conf, written in place: it is bind-mounted into the container, which
 * would go on seeing the old file were a new one renamed over it. Its digest is kept beside.
 */
async function writeResolvConf(bundle: string, content: string): Promise<void> {
  await writeFile(path.join(bundle, 'resolv.conf'), content);
  await keepDigest(bundle, content);
}

/** Keeps the digest of the resolv.conf the runtime wrote at the create, as libnetwork's setupDNS does: a later change is the user's. */
export async function noteResolvConf(bundle: string): Promise<void> {
  await keepDigest(bundle, await readFile(path.join(bundle, 'resolv.conf')));
}

async function keepDigest(bundle: string, content: string | Buffer): Promise<void> {
  await writeFileAtomic(path.join(bundle, RESOLV_CONF_HASH), digestOf(content), { durable: false });
}

/**
 * libnetwork's resolvconf.UserModified: whether the file differs from what ctr last wrote. With
 * no digest (a container made before they were kept) it is taken as ctr's; one that cannot be read, as changed.
 */
async function userModified(bundle: string): Promise<boolean> {
  const expected = await readFile(path.join(bundle, RESOLV_CONF_HASH), 'utf8').catch(() => undefined);
  if (expected === undefined) return false;
  const current = await readFile(path.join(bundle, 'resolv.conf')).catch(() => undefined);
  return current === undefined || digestOf(current) !== expected;
}

/**
 * A running container's connect to a network the embedded DNS serves: its resolv.conf names
 * 127.0.0.11 from now on, as libnetwork's resolver rewrites it when it starts (rebuildDNS) — unless
 * the user has changed the file, which dockerd then leaves as it is. A later disconnect leaves
 * the file (libnetwork keeps the resolver to the sandbox's end); the next start makes it again.
 */
export async function useEmbeddedDns(ctx: EngineContext, record: Pick<ContainerRecord, 'id'>, resolvConf: string): Promise<void> {
  const { bundle } = await ctx.runtime.inspect(record.id);
  if (await userModified(bundle)) return;
  await writeResolvConf(bundle, resolvConf);
}
