import { CtrError, invalidArgument } from '@ctr/errors';
import type { CheckFinding, SystemCheckOptions, SystemCheckReport } from '@ctr/engine';
import type { Command, Io } from '../command';
import { currentEndpoint, localEngine, println } from '../context';
import { bool, flagValueError, str } from '../flags';

/** Podman's `--max` default (as Go prints it): a layer nothing uses is a cancelled pull's after a day. */
const DEFAULT_MAX = '24h0m0s';

/** podman's exit status for a command that failed (and for damage found). */
const PODMAN_ERROR = 125;

/**
 * One finding as podman's printSystemCheckResults prints one (`Damaged image ID:`, then
 * go-multierror's list), then what a repair does with it when it was not made.
 */
function printFinding(io: Io, finding: CheckFinding): void {
  const heading = finding.kind === 'leftover' ? `Leftover ${finding.id}:` : `Damaged ${finding.kind} ${finding.id}:`;
  const count = finding.errors.length;
  io.stdout.write(`${heading}\n${count} error${count === 1 ? '' : 's'} occurred:\n${finding.errors.map((error) => `\t* ${error}\n`).join('')}\n`);
  if (!finding.repaired) println(io, `Repair: ${finding.repair}\n`);
}

/** Podman prints each finding, then what was removed; ctr also says what was repaired short of a removal (a volume). */
function printReport(io: Io, report: SystemCheckReport): void {
  for (const finding of report.findings) printFinding(io, finding);
  for (const finding of report.findings) {
    if (!finding.repaired) continue;
    if (finding.kind === 'volume') println(io, `Repaired damaged volume: ${finding.id}`);
    else if (finding.kind === 'leftover') println(io, `Deleted leftover: ${finding.id}`);
    else println(io, `Deleted damaged ${finding.kind}: ${finding.id}`);
  }
}

function maxAge(text: string): number {
  const { parseDuration } = require('@ctr/dockerfile') as typeof import('@ctr/dockerfile');
  try {
    return parseDuration(text) / 1e6;
  } catch (error) {
    throw flagValueError({ name: 'max', short: 'm' }, text, (error as Error).message);
  }
}

function damage(message: string): CtrError {
  return new CtrError('Conflict', message, { details: { exitCode: PODMAN_ERROR } });
}

/**
 * `ctr system check` (podman 5's `system check`): report damage, repair with `-r` (`-f` also
 * removes the containers that depend on it), then check again. Exit 0 when nothing is (left)
 * damaged, 125 otherwise, as podman.
 */
export const systemCheckCommand: Command = {
  name: 'check',
  usage: '[OPTIONS]',
  description: 'Check storage consistency',
  flags: [
    { name: 'force', short: 'f', type: 'bool', description: 'Remove inconsistent images and containers' },
    { name: 'max', short: 'm', type: 'string', valueName: 'duration', description: `Maximum allowed age of unreferenced layers (default ${DEFAULT_MAX})` },
    { name: 'quick', short: 'q', type: 'bool', description: 'Skip time-consuming checks. The default is to include time-consuming checks' },
    { name: 'repair', short: 'r', type: 'bool', description: 'Remove inconsistent images' },
  ],
  args: [0, 0],
  async run(args, io) {
    const options: SystemCheckOptions = {
      quick: bool(args, 'quick'),
      repair: bool(args, 'repair'),
      force: bool(args, 'force'),
      maxAgeMs: maxAge(str(args, 'max') ?? DEFAULT_MAX),
    };
    // The Docker Engine API has no such call: the store is checked where it is, by this process.
    if ((await currentEndpoint()).kind === 'remote') {
      throw invalidArgument('system check works on the local store only: run it on the daemon\'s host, without -H or a remote context');
    }
    const engine = localEngine();
    try {
      const report = await engine.systemCheck(options);
      printReport(io, report);
      if (!options.repair && !options.force) {
        if (report.errors) throw damage('Error: damage detected in local storage');
        return 0;
      }
      if ((await engine.systemCheck({ ...options, repair: false, force: false })).errors) throw damage('Error: damage in local storage still present after repair attempt');
      return 0;
    } finally {
      await engine.close();
    }
  },
};
