import * as fs from 'node:fs';
import * as path from 'node:path';
import { dump, parse, parseDockerfile } from '@ctr/dockerfile';
import { CONFORMANCE } from '../../../test/conformance';

const corpus = `${CONFORMANCE}/dockerfile-corpus`;

function dockerfiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'LICENSES' ? [] : dockerfiles(full);
    return /Dockerfile/.test(entry.name) ? [path.relative(corpus, full)] : [];
  });
}

const files = dockerfiles(corpus).sort();

describe('real-world Dockerfile corpus', () => {
  it('has all 35 files', () => expect(files).toHaveLength(35));

  it.each(files)('%s parses into stages with checked instructions', (file) => {
    const source = fs.readFileSync(path.join(corpus, file));
    const dockerfile = parseDockerfile(source, { file });
    expect(dockerfile.stages.length).toBeGreaterThan(0);
    const count = dockerfile.metaArgs.length + dockerfile.stages.reduce((n, s) => n + 1 + s.instructions.length, 0);
    expect(count).toBe(parse(source).nodes.length);
  });

  it.each(files)('%s dumps one parenthesised line per instruction', (file) => {
    const result = parse(fs.readFileSync(path.join(corpus, file)));
    const lines = dump(result).split('\n');
    expect(lines).toHaveLength(result.nodes.length);
    expect(lines.every((line) => line.startsWith('(') && line.endsWith(')'))).toBe(true);
  });
});
