import { execFileSync } from 'node:child_process';

/** Test data helpers shared by the tar and layer tests. */

export function bunzip2(data: Buffer): Buffer {
  return execFileSync('bzip2', ['-dc'], { input: data, maxBuffer: 64 << 20 });
}
