import * as fs from 'node:fs';
import * as path from 'node:path';
import { isCtrError } from '@ctr/errors';
import { dump, parse } from '@ctr/dockerfile';
import { CONFORMANCE } from '../../../test/conformance';

const root = `${CONFORMANCE}/dockerfile/parser`;
const positive = fs.readdirSync(path.join(root, 'testfiles')).sort();
const negative = fs.readdirSync(path.join(root, 'testfiles-negative')).sort();

describe('BuildKit parser testfiles', () => {
  it('has all 33 positive and 4 negative cases', () => {
    expect(positive).toHaveLength(33);
    expect(negative).toHaveLength(4);
  });

  it.each(positive)('%s parses to the expected result dump byte for byte', (name) => {
    const dir = path.join(root, 'testfiles', name);
    const result = parse(fs.readFileSync(path.join(dir, 'Dockerfile')));
    const expected = fs.readFileSync(path.join(dir, 'result'), 'utf8').replace(/\r\n/g, '\n');
    expect(dump(result) + '\n').toBe(expected);
  });

  it.each(negative)('%s fails with a located InvalidArgument error', (name) => {
    const file = path.join(root, 'testfiles-negative', name, 'Dockerfile');
    let caught: unknown;
    try {
      parse(fs.readFileSync(file));
    } catch (e) {
      caught = e;
    }
    expect(isCtrError(caught)).toBe(true);
    expect(caught).toMatchObject({ code: 'InvalidArgument', file: 'Dockerfile' });
  });
});

