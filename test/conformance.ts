import { existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Other projects' test data (`shared/conformance/`), used by tests as it is. It sits beside
 * the checkout (`<repo>/../shared`); `CTR_CONFORMANCE` points elsewhere when it does not.
 */
function find(): string {
  const candidates = [process.env.CTR_CONFORMANCE, join(__dirname, '..', '..', 'shared', 'conformance'), '/work/shared/conformance'];
  for (const dir of candidates) if (dir && existsSync(dir)) return dir;
  throw new Error(`conformance data not found; looked in ${candidates.filter(Boolean).join(', ')} (set CTR_CONFORMANCE)`);
}

export const CONFORMANCE: string = find();
