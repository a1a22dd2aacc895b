import * as fs from 'node:fs';
import {
  chompHeredocContent,
  DockerfileError,
  parse,
  parseHeredocWord,
  parseJSONArray,
  parseNameVal,
  parseWords,
} from '@ctr/dockerfile';
import { CONFORMANCE } from '../../../test/conformance';

const dir = `${CONFORMANCE}/dockerfile`;
const misc = JSON.parse(fs.readFileSync(`${dir}/derived/parser-misc.json`, 'utf8'));

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
}

describe('derived/parser-misc.json', () => {
  it.each(misc.parseWords.cases as { input: string; expect: string[] }[])('parseWords($input)', (c) => {
    expect(parseWords(c.input, '\\')).toEqual(c.expect);
  });

  it.each(misc.parseNameVal.cases as { input: string; directive: string; expect?: string[]; expectError?: string }[])(
    '$directive $input',
    (c) => {
      if (c.expectError) expect(() => parseNameVal(c.input, c.directive, '\\')).toThrow(c.expectError);
      else expect(parseNameVal(c.input, c.directive, '\\').args).toEqual(c.expect);
    },
  );

  it.each(misc.jsonArrays.valid as { input: string; expect: string[] }[])('valid JSON array %#', (c) => {
    expect(parseJSONArray(c.input)).toEqual(c.expect);
  });

  it.each(misc.jsonArrays.invalidNotStringArray as string[])('non-string JSON array %s is a hard error', (input) => {
    expect(() => parseJSONArray(input)).toThrow('when using JSON array syntax, arrays must be comprised of strings only');
    expect(thrown(() => parse(`CMD ${input}`))).toBeInstanceOf(DockerfileError);
  });

  it.each(misc.parseHeredocWord.valid as string[])('%s is a heredoc named EOF', (word) => {
    expect(parseHeredocWord(word)?.name).toBe('EOF');
  });
  it.each(misc.parseHeredocWord.invalid as string[])('%s is an invalid heredoc word', (word) => {
    expect(thrown(() => parseHeredocWord(word))).toMatchObject({ code: 'InvalidArgument' });
  });
  it.each(misc.parseHeredocWord.notHeredoc as string[])('%j is not a heredoc', (word) => {
    expect(parseHeredocWord(word)).toBeUndefined();
  });

  it.each(misc.heredocsFromLine.cases as { line: string; names: string[] }[])('heredocs of $line', (c) => {
    const lines = [c.line, ...c.names];
    const node = parse(lines.join('\n') + '\n').nodes[0]!;
    expect(node.heredocs.map((h) => h.name)).toEqual(c.names);
  });

  it('never finds heredocs in JSON-form RUN', () => {
    const nodes = parse(misc.jsonFormNoHeredoc.dockerfile).nodes;
    expect(nodes.slice(1).map((n) => n.heredocs)).toEqual([[], [], []]);
  });

  it('chomps leading tabs of every heredoc line', () => {
    expect(chompHeredocContent(misc.chompHeredocContent.input)).toBe(misc.chompHeredocContent.expect);
  });

  it('reports instruction line ranges including continuations and comments', () => {
    const result = parse(fs.readFileSync(`${dir}/${misc.lineNumbers.file}`));
    expect(result.nodes.map((n) => [n.startLine, n.endLine])).toEqual(misc.lineNumbers.children);
    expect([result.nodes[0]!.startLine, result.nodes[result.nodes.length - 1]!.endLine]).toEqual(misc.lineNumbers.root);
  });

  it('rejects a physical line longer than 65535 bytes', () => {
    const source = `\n\t\tFROM image\n\t\tLABEL test=${'a'.repeat(65536)}\n`;
    const e = thrown(() => parse(source));
    expect(e).toBeInstanceOf(DockerfileError);
    expect((e as Error).message).toContain(misc.maxLineLength.expectError);
  });

  it('warns once per instruction that has empty continuation lines', () => {
    const c = misc.emptyContinuationWarnings;
    const result = parse(c.dockerfile);
    expect(result.warnings).toHaveLength(c.expectWarningsCount);
    c.expectWarningShortContains.forEach((parts: string[], i: number) => {
      for (const part of parts) expect(result.warnings[i]!.message).toContain(part);
      expect(result.warnings[i]!.detail).toContain(c.expectWarningDetailContains);
    });
  });

  it.each(misc.directives.parseAll as { input: string; expect: { name: string; value: string }[] }[])(
    'directives of %j',
    (c) => {
      const result = parse(c.input + 'FROM scratch\n');
      expect(result.directives.map(({ name, value }) => ({ name, value }))).toEqual(c.expect);
    },
  );

  it('takes the syntax and check directives, with a shebang line before them', () => {
    const result = parse('#!/bin/sh\n# syntax = dockerfile:experimental\n# check = skip=all\nFROM busybox\n');
    expect(result.directives.map((d) => [d.name, d.value, d.line])).toEqual([
      ['syntax', 'dockerfile:experimental', 2],
      ['check', 'skip=all', 3],
    ]);
  });

  it('rejects a repeated directive', () => {
    expect(() => parse('# escape=`\n# escape=\\\nFROM x\n')).toThrow('only one escape parser directive can be used');
  });

  it('rejects an escape directive other than ` or \\', () => {
    expect(thrown(() => parse('# escape=x\nFROM x\n'))).toBeInstanceOf(DockerfileError);
  });
});

describe('derived/heredoc-parse', () => {
  const expected = JSON.parse(fs.readFileSync(`${dir}/derived/heredoc-parse/expected.json`, 'utf8')).expected as {
    comment: string;
    heredocs: { Name: string; FileDescriptor: number; Expand: boolean; Chomp: boolean; Content: string }[] | null;
  }[];
  const nodes = parse(fs.readFileSync(`${dir}/derived/heredoc-parse/Dockerfile`)).nodes;

  it('finds every instruction', () => expect(nodes).toHaveLength(expected.length + 1));

  it.each(expected.map((e, i) => ({ ...e, i })))('$comment', (e) => {
    const got = nodes[e.i + 1]!.heredocs.map((h) => ({
      Name: h.name,
      FileDescriptor: h.fileDescriptor,
      Expand: h.expand,
      Chomp: h.chomp,
      Content: h.content,
    }));
    expect(got).toEqual(e.heredocs ?? []);
  });

  it('fails on an unterminated heredoc with its location', () => {
    const e = thrown(() => parse('FROM x\nRUN <<EOF\necho hi\n'));
    expect(e).toBeInstanceOf(DockerfileError);
    expect(e).toMatchObject({ reason: 'unterminated heredoc', line: 2 });
  });
});
