import path from 'node:path';
import type { RunStep } from '@ctr/dockerfile';
import type { RunOptions } from '@ctr/runtime';
import { ContainerRecords, type ContainerRecord } from './container-records';
import type { EngineContext } from './context';

/** A build step's container, exited, that stays once the step is over. */
export interface KeptStep {
  /** Its ID: also its runtime container's and its snapshot's name. */
  id: string;
  created: string;
  step: RunStep;
  /** What the runtime made it with. */
  run: RunOptions;
  /** The network it ran on: `none`, `host`, `bridge` or a user network's name. */
  network: string;
}

/**
 * Whether a step's container stays, as docker's classic builder decides after each instruction:
 * `--force-rm` removes it (no `keep`); otherwise a failed step's stays, and with `--rm=false`
 * every step's.
 */
export function keeps(keep: RunStep['keep'], exitCode: number): boolean {
  return keep !== undefined && (keep.when === 'always' || exitCode !== 0);
}

/**
 * Make a build step's exited container one of the engine's: a record naming it, its snapshot and
 * the image it ran on (`imageId`), so that `ps -a`, `inspect`, `diff`, `cp`, `commit` and `rm`
 * know it as they know any. Its root filesystem is mounted where they want it when they do; its
 * network and its `RUN --mount`s went with the step.
 */
export async function keepStepContainer(ctx: EngineContext, kept: KeptStep, imageId: string): Promise<void> {
  const records = new ContainerRecords(ctx.root);
  await records.init();
  const name = await records.claimGeneratedName(kept.id);
  const { step } = kept;
  const { mounts: _lent, ...run } = kept.run;
  const record: ContainerRecord = {
    id: kept.id,
    name,
    created: kept.created,
    image: imageId,
    imageId,
    path: step.args[0] ?? '',
    args: step.args.slice(1),
    snapshot: kept.id,
    // Where the engine mounts its containers' roots.
    rootfs: path.join(ctx.root, 'engine', 'rootfs', kept.id),
    run,
    mounts: [],
    anonymousVolumes: [],
    labels: {},
    network: { mode: kept.network, aliases: [], ports: [], publishAll: false },
    restartPolicy: { name: 'no', maximumRetryCount: 0 },
    autoRemove: false,
    restartCount: 0,
    // dockerd runs a step with no entrypoint: the command is all of it.
    config: { User: step.user, Entrypoint: null, Cmd: step.args, Env: kept.run.env ?? null },
  };
  try {
    // Its next start (`docker start` runs the step again) mounts its snapshot where the record says.
    await ctx.runtime.moveRootfs(kept.id, record.rootfs);
    await records.write(record);
  } catch (error) {
    await records.releaseName(name, kept.id);
    throw error;
  }
  await records.confirmName(name, kept.id);
}
