import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const repo = join(__dirname, '..');
const readme = readFileSync(join(repo, 'README.md'), 'utf8');

/** The README's Packages table: each package's row, by name. */
function packageRows(): Map<string, string> {
  const rows = new Map<string, string>();
  for (const line of readme.split('\n')) {
    const match = /^\| `(@ctr\/[a-z-]+)` \|.*\| ([^|]*) \|$/.exec(line);
    if (match) rows.set(match[1] as string, match[2] as string);
  }
  return rows;
}

function dependencies(name: string): string[] {
  const manifest = JSON.parse(readFileSync(join(repo, 'packages', name.slice('@ctr/'.length), 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  return Object.keys(manifest.dependencies ?? {});
}

describe("the README's package table", () => {
  const rows = packageRows();

  test('has a row for every package', () => {
    expect([...rows.keys()].sort()).toEqual(['api', 'cli', 'compose', 'dockerfile', 'engine', 'errors', 'image', 'network', 'registry', 'runtime', 'store', 'swarm'].map((n) => `@ctr/${n}`));
  });

  test.each([...packageRows().keys()])("%s's row names every npm package it depends on", (name) => {
    for (const dependency of dependencies(name).filter((d) => !d.startsWith('@ctr/'))) expect(rows.get(name)).toContain(dependency);
  });

  test.each([...packageRows().keys()])('%s is built on no ctr package it does not depend on', (name) => {
    const named = [...(rows.get(name) ?? '').matchAll(/`(@ctr\/[a-z-]+)`/g)].map((m) => m[1]);
    for (const dependency of named) expect(dependencies(name)).toContain(dependency);
  });

  test('names no file outside a clone of the repository', () => {
    expect(readme).not.toContain('../shared/');
  });
});
