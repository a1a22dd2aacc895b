// Stub: helper B2 replaces this file (build, pull, push, images, ensureImages, serviceImage).
import { CtrError } from '@ctr/errors';
import type { BuildOptions, ImageRow, PullOptions, PushOptions, ServicesOptions } from './compose';
import type { ComposeEngine } from './labels';
import type { ComposeProject } from './model';

const notYet = (verb: string): never => {
  throw new CtrError('Unsupported', `compose ${verb}: not implemented yet`);
};
export async function build(_e: ComposeEngine, _p: ComposeProject, _o: BuildOptions): Promise<void> { notYet('build'); }
export async function pull(_e: ComposeEngine, _p: ComposeProject, _o: PullOptions): Promise<void> { notYet('pull'); }
export async function push(_e: ComposeEngine, _p: ComposeProject, _o: PushOptions): Promise<void> { notYet('push'); }
export async function images(_e: ComposeEngine, _p: ComposeProject, _o: ServicesOptions): Promise<ImageRow[]> { return notYet('images'); }
