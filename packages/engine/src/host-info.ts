import { promises as fs } from 'node:fs';

/**
 * The host's distribution as `docker info` names it (moby's operatingsystem.GetOperatingSystem):
 * PRETTY_NAME of /etc/os-release, else of /usr/lib/os-release; "Linux" where neither names one.
 */
export async function hostOperatingSystem(files: readonly string[] = ['/etc/os-release', '/usr/lib/os-release']): Promise<string> {
  for (const file of files) {
    const text = await fs.readFile(file, 'utf8').catch(() => undefined);
    if (text !== undefined) return prettyName(text) ?? 'Linux';
  }
  return 'Linux';
}

/** os-release's PRETTY_NAME, its shell-style quotes and escapes undone. */
function prettyName(osRelease: string): string | undefined {
  const value = /^PRETTY_NAME=(.*)$/m.exec(osRelease)?.[1]?.trim();
  if (!value) return undefined;
  const quote = value[0];
  if ((quote === '"' || quote === "'") && value.endsWith(quote) && value.length > 1) {
    const inner = value.slice(1, -1);
    return quote === '"' ? inner.replace(/\\([\\"$`])/g, '$1') : inner;
  }
  return value;
}
