// Stub: helper B1 replaces this file (create, up, down, start, stop, restart, kill, pause, unpause, remove, ps, listProjects).
import { CtrError } from '@ctr/errors';
import type { ComposeContainer, ComposeProjectSummary, CreateOptions, DownOptions, KillOptions, PsOptions, RemoveOptions, ServicesOptions, StartOptions, StopOptions, UpOptions, UpResult } from './compose';
import type { ComposeEngine } from './labels';
import type { ComposeProject } from './model';

const notYet = (verb: string): never => {
  throw new CtrError('Unsupported', `compose ${verb}: not implemented yet`);
};
export async function create(_e: ComposeEngine, _p: ComposeProject, _o: CreateOptions): Promise<void> { notYet('create'); }
export async function up(_e: ComposeEngine, _p: ComposeProject, _o: UpOptions): Promise<UpResult> { return notYet('up'); }
export async function down(_e: ComposeEngine, _p: ComposeProject, _o: DownOptions): Promise<void> { notYet('down'); }
export async function start(_e: ComposeEngine, _p: ComposeProject, _o: StartOptions): Promise<void> { notYet('start'); }
export async function stop(_e: ComposeEngine, _p: ComposeProject, _o: StopOptions): Promise<void> { notYet('stop'); }
export async function restart(_e: ComposeEngine, _p: ComposeProject, _o: StopOptions & { noDeps?: boolean }): Promise<void> { notYet('restart'); }
export async function kill(_e: ComposeEngine, _p: ComposeProject, _o: KillOptions): Promise<void> { notYet('kill'); }
export async function pause(_e: ComposeEngine, _p: ComposeProject, _o: ServicesOptions): Promise<void> { notYet('pause'); }
export async function unpause(_e: ComposeEngine, _p: ComposeProject, _o: ServicesOptions): Promise<void> { notYet('unpause'); }
export async function remove(_e: ComposeEngine, _p: ComposeProject, _o: RemoveOptions): Promise<string[]> { return notYet('rm'); }
export async function ps(_e: ComposeEngine, _p: ComposeProject, _o: PsOptions): Promise<ComposeContainer[]> { return notYet('ps'); }
/** `compose ls`: every project the engine has containers of. */
export async function listProjects(_e: ComposeEngine, _o: { all?: boolean } = {}): Promise<ComposeProjectSummary[]> { return notYet('ls'); }
