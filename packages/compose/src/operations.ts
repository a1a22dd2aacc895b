// Stub: helper B2 replaces this file (logs, exec, run, top, port).
import { CtrError } from '@ctr/errors';
import type { ComposeLogLine, ExecOptions, LogsOptions, PortOptions, RunOptions, ServicesOptions, TopRow } from './compose';
import type { ComposeEngine } from './labels';
import type { ComposeProject } from './model';

const notYet = (verb: string): never => {
  throw new CtrError('Unsupported', `compose ${verb}: not implemented yet`);
};
// eslint-disable-next-line require-yield
export async function* logs(_e: ComposeEngine, _p: ComposeProject, _o: LogsOptions): AsyncGenerator<ComposeLogLine> { notYet('logs'); }
export async function exec(_e: ComposeEngine, _p: ComposeProject, _s: string, _o: ExecOptions): Promise<number> { return notYet('exec'); }
export async function run(_e: ComposeEngine, _p: ComposeProject, _s: string, _o: RunOptions): Promise<{ container: string; exitCode?: number }> { return notYet('run'); }
export async function top(_e: ComposeEngine, _p: ComposeProject, _o: ServicesOptions): Promise<TopRow[]> { return notYet('top'); }
export async function port(_e: ComposeEngine, _p: ComposeProject, _s: string, _n: number, _o: PortOptions): Promise<string> { return notYet('port'); }
