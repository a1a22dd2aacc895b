/**
 * Docker's detach keys: the grammar of `--detach-keys` (moby/term's ToBytes) and the scanner
 * that finds them in a session's input, however the input is cut into pieces.
 */
import { PassThrough } from 'node:stream';
import { DetachKeyScanner, detachOnKeys, detachedError, isDetached, parseDetachKeys } from '@ctr/runtime';
import { isCtrError } from '@ctr/errors';

const CTRL_P = 0x10;
const CTRL_Q = 0x11;

/** Feed the scanner `pieces` in turn: what it passed on, and whether it detached. */
function scan(keys: string, ...pieces: string[]): { passed: string; detached: boolean } {
  const scanner = new DetachKeyScanner(parseDetachKeys(keys));
  let passed = '';
  for (const piece of pieces) {
    const { pass, detached } = scanner.push(Buffer.from(piece, 'latin1'));
    passed += pass.toString('latin1');
    if (detached) return { passed, detached };
  }
  return { passed, detached: false };
}

describe('parseDetachKeys', () => {
  test('the default is ctrl-p,ctrl-q', () => {
    expect([...parseDetachKeys(undefined)]).toEqual([CTRL_P, CTRL_Q]);
    expect([...parseDetachKeys('')]).toEqual([CTRL_P, CTRL_Q]);
  });

  test('ctrl- keys are the control codes of a-z, @, [, \\, ], ^ and _', () => {
    expect([...parseDetachKeys('ctrl-@,ctrl-a,ctrl-z,ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_')]).toEqual([0, 1, 26, 27, 28, 29, 30, 31]);
  });

  test('a single character is itself, and DEL is 127', () => {
    expect([...parseDetachKeys('ctrl-a,x,DEL')]).toEqual([1, 0x78, 127]);
  });

  test.each(['ctrl-P', 'ctrl-1', 'ctrl-', 'foo', 'a,,b', 'é'])('%j is refused in dockerd\'s words', (keys) => {
    let error: unknown;
    try {
      parseDetachKeys(keys);
    } catch (caught) {
      error = caught;
    }
    expect(isCtrError(error) && error.code).toBe('InvalidArgument');
    expect((error as Error).message).toBe(`Invalid detach keys (${keys}) provided`);
  });

  test('exec names them escape keys, as dockerd does', () => {
    expect(() => parseDetachKeys('nope', 'escape')).toThrow('Invalid escape keys (nope) provided');
  });
});

describe('DetachKeyScanner', () => {
  test('the sequence typed key by key detaches, and neither key reaches the program', () => {
    expect(scan('ctrl-p,ctrl-q', 'ls\r', '\x10', '\x11')).toEqual({ passed: 'ls\r', detached: true });
  });

  test('the sequence inside one piece detaches; what came before it passes, what follows is dropped', () => {
    expect(scan('ctrl-p,ctrl-q', 'echo hi\x10\x11exit\r')).toEqual({ passed: 'echo hi', detached: true });
  });

  test('a partial sequence that does not complete is passed on', () => {
    expect(scan('ctrl-p,ctrl-q', '\x10', 'a')).toEqual({ passed: '\x10a', detached: false });
  });

  test('the key that broke a partial match can start the sequence again', () => {
    expect(scan('ctrl-p,ctrl-q', '\x10', '\x10', '\x11')).toEqual({ passed: '\x10', detached: true });
  });

  test('an overlapping custom sequence is found after a false start', () => {
    expect(scan('a,a,b', 'xaa', 'ab')).toEqual({ passed: 'xa', detached: true });
  });

  test('a custom sequence ctrl-a,x detaches and the default one does not', () => {
    expect(scan('ctrl-a,x', '\x10\x11', '\x01x')).toEqual({ passed: '\x10\x11', detached: true });
  });

  test('held keys are given back when the input ends', () => {
    const scanner = new DetachKeyScanner(parseDetachKeys(undefined));
    expect(scanner.push(Buffer.from('ab\x10')).pass.toString()).toBe('ab');
    expect([...scanner.flush()]).toEqual([CTRL_P]);
  });
});

describe('detachOnKeys', () => {
  test('the program gets the input without the keys, and detached resolves without ending its input', async () => {
    const input = new PassThrough();
    const watched = detachOnKeys(input, parseDetachKeys(undefined));
    const received: Buffer[] = [];
    let ended = false;
    watched.stream.on('data', (chunk: Buffer) => received.push(chunk));
    watched.stream.on('end', () => (ended = true));
    input.write('echo one\r');
    input.write(Buffer.from([CTRL_P]));
    input.write(Buffer.from([CTRL_Q]));
    await watched.detached;
    input.write('after\r');
    await new Promise((resolve) => setImmediate(resolve));
    expect(Buffer.concat(received).toString()).toBe('echo one\r');
    expect(ended).toBe(false);
  });

  test('an input that ends without the keys ends the program\'s input, a held key passed on', async () => {
    const input = new PassThrough();
    const watched = detachOnKeys(input, parseDetachKeys(undefined));
    const received: Buffer[] = [];
    watched.stream.on('data', (chunk: Buffer) => received.push(chunk));
    const ended = new Promise((resolve) => watched.stream.on('end', resolve));
    input.end(Buffer.from([0x61, CTRL_P]));
    await ended;
    expect([...Buffer.concat(received)]).toEqual([0x61, CTRL_P]);
  });
});

test("the detach error says docker's words and is recognised", () => {
  const error = detachedError();
  expect(error.message).toBe('read escape sequence');
  expect(isDetached(error)).toBe(true);
  expect(isDetached(new Error('read escape sequence'))).toBe(false);
});
