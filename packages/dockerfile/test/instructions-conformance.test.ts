import * as fs from 'node:fs';
import { DockerfileError, DockerfileNode, parse, parseInstruction } from '@ctr/dockerfile';
import { CONFORMANCE } from '../../../test/conformance';

const spec = JSON.parse(fs.readFileSync(`${CONFORMANCE}/dockerfile/derived/instructions.json`, 'utf8'));

const first = (dockerfile: string) => parseInstruction(parse(dockerfile).nodes[0]!);

function handBuilt(keyword: string, args: string[]): DockerfileNode {
  return { keyword, flags: [], args, json: false, heredocs: [], original: '', startLine: 1, endLine: 1, column: 1 };
}

describe('derived/instructions.json', () => {
  it.each(spec.errorCases as { dockerfile: string; expectedError: string }[])('$dockerfile → $expectedError', (c) => {
    let caught: unknown;
    try {
      first(c.dockerfile);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(DockerfileError);
    expect((caught as DockerfileError).reason).toContain(c.expectedError);
    expect((caught as DockerfileError).line).toBe(1);
  });

  it.each(spec.astErrorCases.cases as { node: string[]; expectedError: string }[])('$node → $expectedError', (c) => {
    const [keyword, ...args] = c.node;
    expect(() => parseInstruction(handBuilt(keyword!, args))).toThrow(c.expectedError);
  });

  it('joins shell-form HEALTHCHECK CMD words into CMD-SHELL', () => {
    const [keyword, ...args] = spec.healthcheckShellForm.node as string[];
    const instruction = parseInstruction(handBuilt(keyword!, args));
    expect(instruction).toMatchObject({ kind: 'HEALTHCHECK', health: { test: spec.healthcheckShellForm.expectTest } });
  });

  it.each(spec.healthcheckInterval.cases as { value: string; error?: string; ok?: boolean }[])('--interval=$value', (c) => {
    const run = () => first(`HEALTHCHECK --interval=${c.value} CMD true`);
    if (c.error) expect(run).toThrow(c.error);
    else expect(run()).toMatchObject({ kind: 'HEALTHCHECK' });
  });

  it('parses RUN --mount flags', () => {
    expect(first(spec.runFlagsUsed.dockerfile)).toMatchObject({ kind: 'RUN', mounts: ['type=tmpfs,target=/foo/'] });
  });

  it.each(spec.copyHeredoc as { dockerfile: string; dest: string; sourcePaths: string[]; sourceContents: unknown[] }[])(
    'COPY sources of $dockerfile',
    (c) => {
      expect(first(c.dockerfile)).toMatchObject({
        kind: 'COPY',
        dest: c.dest,
        sources: c.sourcePaths,
        sourceContents: c.sourceContents,
      });
    },
  );

  it.each(spec.runHeredoc.cases as { dockerfile: string; shell: boolean; command: string[]; files: { name: string; data: string; chomp: boolean }[] }[])(
    'RUN command and files of $dockerfile',
    (c) => {
      const run = first(c.dockerfile);
      expect(run).toMatchObject({ kind: 'RUN', shell: c.shell, command: c.command });
      if (run.kind !== 'RUN') throw new Error('not RUN');
      expect(run.heredocs.map((h) => ({ name: h.name, data: h.content, chomp: h.chomp }))).toEqual(c.files);
    },
  );

  it('suggests the closest instruction for a typo', () => {
    expect(() => first('RUNN echo')).toThrow('unknown instruction: RUNN (did you mean RUN?)');
  });
});
