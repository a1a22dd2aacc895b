import { internal, invalidArgument } from '@ctr/errors';
import type { LinuxBlockIO } from '../oci-spec';
import type { BlkioOption, RunOptions, SpecContext, ThrottleDevice, WeightDevice } from '../types';

/** The throttle options and the spec's list each one fills. */
const THROTTLES = [
  ['blkioDeviceReadBps', 'throttleReadBpsDevice'],
  ['blkioDeviceWriteBps', 'throttleWriteBpsDevice'],
  ['blkioDeviceReadIOps', 'throttleReadIOPSDevice'],
  ['blkioDeviceWriteIOps', 'throttleWriteIOPSDevice'],
] as const;

const validWeight = (weight: number, allowZero: boolean): boolean => Number.isInteger(weight) && ((allowZero && weight === 0) || (weight >= 10 && weight <= 1000));

/**
 * The spec's `blockIO` for the blkio options, checked as dockerd checks them; undefined when
 * none is set. Devices come from `ctx.blockDevices` (see `blockDevices`). An option the
 * kernel cannot take (`ctx.blkio`) is dropped, as dockerd drops it.
 */
export function blockIO(options: RunOptions, ctx: SpecContext): LinuxBlockIO | undefined {
  const io: LinuxBlockIO = {};
  const supported = (option: BlkioOption): boolean => ctx.blkio?.[option] !== false;
  const numbers = (entry: WeightDevice | ThrottleDevice): { major: number; minor: number } => {
    const device = ctx.blockDevices?.[entry.path];
    if (!device) throw internal(`block device ${entry.path} was not looked up for the spec`);
    return { major: device.major, minor: device.minor };
  };
  const weight = options.blkioWeight ?? 0;
  if (weight !== 0) {
    if (!validWeight(weight, false)) throw invalidArgument('Range of blkio weight is from 10 to 1000');
    if (supported('blkioWeight')) io.weight = weight;
  }
  const weights = options.blkioWeightDevice ?? [];
  for (const entry of weights) {
    if (!validWeight(entry.weight, true)) throw invalidArgument(`invalid weight for device: ${entry.path}:${entry.weight}`);
  }
  if (weights.length > 0 && supported('blkioWeightDevice')) io.weightDevice = weights.map((entry) => ({ ...numbers(entry), weight: entry.weight }));
  for (const [option, field] of THROTTLES) {
    const throttles = options[option] ?? [];
    for (const entry of throttles) {
      if (!Number.isSafeInteger(entry.rate) || entry.rate < 0) throw invalidArgument(`invalid rate for device: ${entry.path}:${entry.rate}. Number must be a positive integer`);
    }
    if (throttles.length > 0 && supported(option)) io[field] = throttles.map((entry) => ({ ...numbers(entry), rate: entry.rate }));
  }
  return Object.keys(io).length > 0 ? io : undefined;
}
