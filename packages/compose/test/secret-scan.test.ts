/**
 * The secret scan compose runs before `publish`: each detector its default scanner enables
 * (github.com/DefangLabs/secret-detector), on a structured file's entries and on text, and
 * files read as its scanner reads them. Every secret here is a made-up one.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GoRegexp } from '../src/go-regexp';
import { type DetectedSecret, flattenTree, isKeywordSecret, scanEntries, scanFile, scanText } from '../src/secret-scan';

/** What the scan calls one entry of a compose file, or undefined when it finds nothing. */
const found = (value: string, key = 'services.web.environment.VALUE'): string | undefined => scanEntries(new Map([[key, value]]))[0]?.type;

const token = (header: object, claims: object, signature = 'c2lnbmF0dXJl'): string =>
  [header, claims].map((part) => Buffer.from(JSON.stringify(part)).toString('base64url')).concat(signature).join('.');

let work: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'ctr-secret-scan-'));
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

async function file(name: string, content: string | Buffer): Promise<string> {
  const path = join(work, name);
  await writeFile(path, content);
  return path;
}

describe('each detector compose enables', () => {
  test('JFrog Artifactory: an AKC token, not a short one', () => {
    expect(found('AKCp8jQ1e2b3c4d5')).toBe('JFrog Artifactory credentials');
    expect(found('AKC123')).toBeUndefined();
  });

  test('AWS client ID: an AKIA key, not a short one', () => {
    expect(found('AKIAIOSFODNN7EXAMPLE')).toBe('AWS Client ID');
    expect(found('AKIA1234')).toBeUndefined();
  });

  test('AWS secret key: 40 characters quoted after "AWS", not a region', () => {
    expect(scanText('export AWS_SECRET_KEY="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"')).toEqual([
      { type: 'AWS Secret Key', key: '', value: 'AWS_SECRET_KEY="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"' },
    ]);
    expect(scanText('export AWS_REGION="eu-west-1"')).toEqual([]);
  });

  test('Amazon MWS: an amzn.mws key, not one without its UUID', () => {
    expect(found('amzn.mws.12345678-1234-1234-1234-123456789012')).toBe('Amazon Marketplace Web Service (MWS) Key');
    expect(found('amzn.mws.nothex')).toBeUndefined();
  });

  test('Azure storage: 88 base64 characters said to be an AccountKey, not the same characters unnamed', () => {
    expect(found(`AccountKey=${'Ab1+'.repeat(22)}`)).toBe('Azure Storage Account access key');
    expect(found('Ab1+'.repeat(22), 'storage.AccountKey')).toBe('Azure Storage Account access key');
    expect(found('Ab1+'.repeat(22))).toBeUndefined();
  });

  test('HTTP basic authentication: credentials that decode to user:password, not other base64', () => {
    expect(found('Basic dXNlcjpwYXNzd29yZA==')).toBe('HTTP Basic Authentication');
    expect(found('Basic bm90aGluZw==')).toBeUndefined();
  });

  test('HTTP bearer authentication: the detector\'s check is basic\'s, a user:password inside', () => {
    expect(found('Bearer dXNlcjpwYXNzd29yZA==')).toBe('HTTP Bearer Authentication');
    expect(found('Bearer bm90aGluZw==')).toBeUndefined();
  });

  test('GitHub: a ghp_ token of 36 characters, not a short one', () => {
    expect(found('ghp_0123456789abcdefghijklmnopqrstuvwxyz')).toBe('Github authentication');
    expect(found('ghp_short')).toBeUndefined();
  });

  test('JSON Web Token: a signed one golang-jwt parses and an unsigned alg none one, not an unknown algorithm', () => {
    expect(found(token({ alg: 'HS256', typ: 'JWT' }, { sub: '1234567890' }))).toBe('JSON Web Token');
    expect(found(token({ alg: 'none' }, { sub: '1' }).split('.').slice(0, 2).join('.'))).toBe('JSON Web Token');
    expect(found(token({ alg: 'nope' }, { sub: '1' }))).toBeUndefined();
  });

  test('keyword: a credential-sounding key with a literal of 4 bits a character, not a weak or interpolated one', () => {
    expect(found('Vx7#qL2!mZ9@wR4$kT8&', 'services.db.environment.DB_PASSWORD')).toBe('Keyword Detector');
    expect(found('hunter22', 'services.db.environment.DB_PASSWORD')).toBeUndefined();
    expect(found('${DB_PASSWORD}', 'services.db.environment.DB_PASSWORD')).toBeUndefined();
    expect(found('Vx7#qL2!mZ9@wR4$kT8&', 'services.db.environment.MODE')).toBeUndefined();
  });

  test('keyword, as compose\'s env question asks it: any literal of a credential-sounding key', () => {
    expect(isKeywordSecret('API_TOKEN', 'hunter22')).toBe(true);
    expect(isKeywordSecret('ACCESS-KEY', 'abc')).toBe(true);
    expect(isKeywordSecret('API_TOKEN', '$TOKEN')).toBe(false);
    expect(isKeywordSecret('GREETING', 'hunter22')).toBe(false);
  });

  test('Mailchimp: 32 hex digits and a datacenter, not 16', () => {
    expect(found('0123456789abcdef0123456789abcdef-us12')).toBe('Mailchimp API Key');
    expect(found('0123456789abcdef-us12')).toBeUndefined();
  });

  test('npm: an access token or an .npmrc auth token, not an interpolated one', () => {
    expect(found('npm_0123456789abcdefghijklmnopqrstuvwxyz')).toBe('npm auth token');
    expect(found('//registry.npmjs.org/:_authToken=abcdef123')).toBe('npm auth token');
    expect(found('//registry.npmjs.org/:_authToken=${NPM_TOKEN}')).toBeUndefined();
  });

  test('private key: a PEM private key block, not a public key', () => {
    expect(found('-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAfake\n-----END RSA PRIVATE KEY-----\n')).toBe('Private Key');
    expect(found('-----BEGIN PUBLIC KEY-----\nMIIBIjANfake\n-----END PUBLIC KEY-----\n')).toBeUndefined();
  });

  test('Sendgrid: SG. and its two parts, not short ones', () => {
    expect(found('SG.abcdefghijklmnopqrstuv.abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ')).toBe('Sendgrid API key');
    expect(found('SG.short.short')).toBeUndefined();
  });

  test('Slack: a bot token or a webhook, not a token without its numbers', () => {
    expect(found('xoxb-1234567890-abcdefghijklmnop')).toBe('Slack token');
    expect(found('https://hooks.slack.com/services/T0000/B0000/abcdefghijkl')).toBe('Slack token');
    expect(found('xoxb-abc')).toBeUndefined();
  });

  test('Square: an access token of 22 characters, not a short one', () => {
    expect(found('sq0atp-abcdefghijklmnopqrstuv')).toBe('Square authentication');
    expect(found('sq0atp-short')).toBeUndefined();
  });

  test('Stripe: a live or test key, not another prefix', () => {
    expect(found('sk_test_abcdefghijklmnopqrstuvwx')).toBe('Stripe API key');
    expect(found('sk_prod_abcdefghijklmnopqrstuvwx')).toBeUndefined();
  });

  test('Twilio: an account SID of 32 hex digits, not a short one', () => {
    expect(found('AC0123456789abcdef0123456789abcdef')).toBe('Twilio authentication');
    expect(found('AC0123')).toBeUndefined();
  });

  test('URL with password: a user and a literal password, not $VAR or no user', () => {
    expect(found('postgres://app:s3cret@db:5432/shop')).toBe('URL with password');
    expect(found('postgres://app:$PGPASSWORD@db/shop')).toBeUndefined();
    expect(found('https://example.com/path')).toBeUndefined();
  });

  test('high entropy: more than 5 bits a character, not a long word', () => {
    expect(found('Zq3Xw9Lk2Pm7Rt5Vb8Nc1Hd4Jf6Gs0AaEeIiOoUuYy')).toBe('High entropy string');
    expect(found('configurationvalueforthisservice')).toBeUndefined();
  });
});

describe('the scanner', () => {
  test('names a key by the first detector that claims it', () => {
    expect(found('ghp_0123456789abcdefghijklmnopqrstuvwxyz', 'services.web.environment.GITHUB_TOKEN')).toBe('Github authentication');
  });

  test('reports the key a line of text gives', () => {
    expect(scanText('token = Vx7#qL2!mZ9@wR4$kT8&')).toEqual([{ type: 'Keyword Detector', key: 'token', value: 'Vx7#qL2!mZ9@wR4$kT8&' }]);
  });

  test('reads a YAML file flattened, naming each find by its path of keys', async () => {
    const path = await file('app.yaml', 'services:\n  web:\n    environment:\n      GITHUB_TOKEN: ghp_0123456789abcdefghijklmnopqrstuvwxyz\n');
    expect(await scanFile(path)).toEqual([
      { type: 'Github authentication', key: 'services.web.environment.GITHUB_TOKEN', value: 'ghp_0123456789abcdefghijklmnopqrstuvwxyz' },
    ]);
  });

  test('reads an env file as ini, key by key', async () => {
    const path = await file('web.env', 'MODE=prod\nSTRIPE_KEY="sk_test_abcdefghijklmnopqrstuvwx"\n');
    expect(await scanFile(path)).toEqual([{ type: 'Stripe API key', key: 'STRIPE_KEY', value: 'sk_test_abcdefghijklmnopqrstuvwx' }]);
  });

  test('reads a file no transformer takes as text', async () => {
    const path = await file('id_rsa', '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEfake\n-----END OPENSSH PRIVATE KEY-----\n');
    expect((await scanFile(path)).map(({ type, key }) => [type, key])).toEqual([['Private Key', '']]);
  });

  test('refuses a file that is not text, in the scanner\'s words', async () => {
    const path = await file('keystore.p12', Buffer.from([0x30, 0x82, 0x01, 0x00, 0x02, 0x01, 0x03, 0x30, 0x80, 0x06, 0x09, 0x2a]));
    await expect(scanFile(path)).rejects.toMatchObject({ code: 'InvalidArgument', message: `${path} is not a text file` });
  });

  test('reports a file larger than 10 MB as suspicious, unread', async () => {
    const path = await file('huge.txt', Buffer.alloc(10_000_001, 'a'));
    expect(await scanFile(path)).toEqual([{ type: 'Suspicious text file size', key: path, value: '9.54MB' }]);
  });

  test('long runs of blanks are read as one (a column-aligned or deeply indented file finishes)', async () => {
    const aligned = await file('aligned.xml', `<config>\n${`${' '.repeat(200)}<name>web</name>\n`.repeat(20)}</config>\n`);
    expect(await scanFile(aligned)).toEqual([]);
    expect(scanText(`a${' '.repeat(5_000)}b.`)).toEqual([]);
    expect(scanText(`token${'\t '.repeat(100)}= Vx7#qL2!mZ9@wR4$kT8&`)).toEqual([{ type: 'Keyword Detector', key: 'token', value: 'Vx7#qL2!mZ9@wR4$kT8&' }]);
    expect(scanEntries(new Map([['services.web.labels.note', `${' '.repeat(5_000)}x`]]))).toEqual([]);
  });

  test('patterns match as Go\'s regexp matches them: `$` ends a line before \\n only, so a value before \\r\\n is not found', () => {
    expect(scanText('token = Vx7#qL2!mZ9@wR4$kT8&\r\nmode = x')).toEqual([]);
    expect(scanText('token = Vx7#qL2!mZ9@wR4$kT8& \r\nmode = x')).toEqual([{ type: 'Keyword Detector', key: 'token', value: 'Vx7#qL2!mZ9@wR4$kT8&' }]);
  });

  test('a directory is refused in Go\'s words', async () => {
    await expect(scanFile(work)).rejects.toMatchObject({ code: 'InvalidArgument', message: `read ${work}: is a directory` });
  });

  test('a missing file is NotFound, in Go\'s words', async () => {
    const path = join(work, 'missing.env');
    await expect(scanFile(path)).rejects.toMatchObject({ code: 'NotFound', message: `open ${path}: no such file or directory` });
  });
});

describe('XML, as the scanner\'s XML transformer reads it', () => {
  const GITHUB = 'ghp_0123456789abcdefghijklmnopqrstuvwxyz';
  /** The token on a line of its own, read as text: keyless, and named by every detector that matches it. */
  const asText = [
    { type: 'Github authentication', key: '', value: GITHUB },
    { type: 'High entropy string', key: '', value: GITHUB },
  ];

  test('a secret in an attribute is reported under its element\'s path and the attribute\'s name, ~N for a repeated element', async () => {
    const path = await file(
      'settings.xml',
      `<?xml version="1.0" encoding="utf-8"?>\n<configuration>\n  <appSettings>\n    <add key="Mode" value="production"/>\n    <add key="ApiToken" value="${GITHUB}"/>\n  </appSettings>\n</configuration>\n`,
    );
    expect(await scanFile(path)).toEqual([{ type: 'Github authentication', key: 'configuration.appSettings.add~1[value]', value: GITHUB }]);
  });

  test('a secret in element text is reported under the element\'s path, its entities decoded', async () => {
    const path = await file('database.xml', '<settings>\n  <database>\n    <password>Vx7#qL2!mZ9@wR4$kT8&amp;</password>\n  </database>\n</settings>\n');
    expect(await scanFile(path)).toEqual([{ type: 'Keyword Detector', key: 'settings.database.password', value: 'Vx7#qL2!mZ9@wR4$kT8&' }]);
  });

  test('text a child element splits is reported piece by piece, the second under "(ln. 2)"', async () => {
    const path = await file('notes.xml', `<notes>the token is<br/>${GITHUB}</notes>`);
    expect(await scanFile(path)).toEqual([{ type: 'Github authentication', key: 'notes (ln. 2)', value: GITHUB }]);
  });

  test('a malformed document is read as text, line by line, as the scanner does when Go\'s decoder refuses it', async () => {
    const wellFormed = await file('token.xml', `<settings>\n  <token>\n    ${GITHUB}\n  </token>\n</settings>\n`);
    expect(await scanFile(wellFormed)).toEqual([{ type: 'Github authentication', key: 'settings.token', value: GITHUB }]);
    const malformed = await file('token-malformed.xml', `<settings>\n  <token>\n    ${GITHUB}\n  </token>\n</setting>\n`);
    expect(await scanFile(malformed)).toEqual(asText);
  });

  test('a document declaring an encoding other than UTF-8 is read as text: compose\'s decoder has no charset reader', async () => {
    const path = await file('latin1.xml', `<?xml version="1.0" encoding="ISO-8859-1"?>\n<settings>\n  <token>\n    ${GITHUB}\n  </token>\n</settings>\n`);
    expect(await scanFile(path)).toEqual(asText);
  });

  test('an error after the first element ends stops the reading, keeping what came before', async () => {
    const path = await file('trailing.xml', `<first token="${GITHUB}"/>\n<second token="${GITHUB}">`);
    expect(await scanFile(path)).toEqual([{ type: 'Github authentication', key: 'first[token]', value: GITHUB }]);
  });

  test('a file whose extension the scanner does not know is tried as XML after JSON and YAML', async () => {
    const path = await file('web.config', `<configuration>\n  <add name="token" value="${GITHUB}"/>\n</configuration>\n`);
    expect(await scanFile(path)).toEqual([{ type: 'Github authentication', key: 'configuration.add[value]', value: GITHUB }]);
  });

  test('a 1 MB document finishes however it is built: deep, wide, unclosed, or cut off inside markup', async () => {
    const MB = 1 << 20;
    const filled = (unit: string, tail = ''): string => unit.repeat(Math.floor((MB - tail.length) / unit.length)) + tail;
    const nested = (open: string, close: string): string => {
      const depth = Math.floor(MB / (open.length + close.length));
      return open.repeat(depth) + close.repeat(depth);
    };
    const documents = {
      'unclosed.xml': filled('<a>'),
      'deep.xml': nested('<a>', '</a>'),
      'deep-attributes.xml': nested('<a x="1">', '</a>'),
      'deep-text.xml': nested('<a>x', '</a>'),
      'wide.xml': `<r>${filled('<a>x</a>', '</r>')}`,
      'attributes.xml': `<a ${filled('x="1" ', '/>')}`,
      'comment.xml': `<r><!--${'-a'.repeat(MB / 2)}`,
      'value.xml': `<r a="${'x'.repeat(MB)}`,
      'entities.xml': `<r>${filled('&amp;', '</r>')}`,
      'directive.xml': `<!${filled('<')}`,
    };
    for (const [name, text] of Object.entries(documents)) expect(await scanFile(await file(name, text))).toEqual([]);
  }, 600_000);
});

describe('the transformers a file\'s extension picks', () => {
  test('a .json file is read as JSON only: YAML in it is read as text', async () => {
    const path = await file('auth.json', 'auth:\n  token: ghp_0123456789abcdefghijklmnopqrstuvwxyz\n');
    expect(await scanFile(path)).toEqual([{ type: 'Github authentication', key: 'token', value: 'ghp_0123456789abcdefghijklmnopqrstuvwxyz' }]);
  });

  test('a file named .env has the extension .env, as Go names it: it is read as ini, else as text, never as JSON', async () => {
    const text = '{"token": "ghp_0123456789abcdefghijklmnopqrstuvwxyz"}';
    expect(await scanFile(await file('.env', text))).toEqual(scanText(text));
    expect(await scanFile(await file('token.txt', text))).toEqual([{ type: 'Github authentication', key: 'token', value: 'ghp_0123456789abcdefghijklmnopqrstuvwxyz' }]);
  });
});

/** 1 MB built against one pattern or parser: before the scan ran as Go runs its patterns, each took minutes or more, or overflowed the stack. */
const MB = 1 << 20;
const filled = (unit: string, tail = ''): string => unit.repeat(Math.floor((MB - tail.length) / unit.length)) + tail;
/** A slow VM's time for 1 MB, with room: the tests assert only that the scan finishes, with what it finds. */
const FINISHES = 60_000;
const GITHUB = 'ghp_0123456789abcdefghijklmnopqrstuvwxyz';

describe('text built against a pattern is scanned in time linear in its length', () => {
  test('a line of words: the key, tried from every blank to the line\'s end', () => {
    expect(scanText(filled('a '))).toEqual([]);
  }, FINISHES);

  test('lines of one blank: the blanks before a delimiter, tried from every line to the text\'s end', () => {
    expect(scanText(`a${filled(' \n', 'b')}`)).toEqual([]);
  }, FINISHES);

  test('BEGIN after BEGIN with no PRIVATE KEY: the private key\'s header, tried from every BEGIN', () => {
    expect(scanText(filled('-----BEGIN '))).toEqual([]);
  }, FINISHES);

  test('private key headers with no END: the key\'s body, searched for an END from every header', () => {
    expect(scanText(filled('-----BEGIN RSA PRIVATE KEY----- '))).toEqual([]);
  }, FINISHES);

  test('a PuTTY marker in every word: the PuTTY pattern\'s .*, from every blank; the line is one find', () => {
    const text = filled('PuTTY-User-Key-File- ');
    expect(scanText(text)).toEqual([{ type: 'Private Key', key: '', value: text.trim() }]);
  }, FINISHES);

  test('credential keys whose values end in }: a literal value\'s .+, from every key to the line\'s end', () => {
    expect(scanText(filled('token=x} '))).toEqual([]);
  }, FINISHES);

  test('one word of repeated keywords: the keyword key\'s classes on either side of the keyword', () => {
    expect(scanText(filled('token', '!'))).toEqual([]);
  }, FINISHES);

  test('a keyword in every other word: the keyword key, from every blank', () => {
    expect(scanText(filled('my token ', '!'))).toEqual([]);
  }, FINISHES);

  test('a JSON Web Token whose end is no end: its parts\' classes, each backtracking over the other', () => {
    expect(scanText(`eyJ${'a'.repeat(MB / 2)}.eyJ${'a'.repeat(MB / 2)}!`)).toEqual([]);
  }, FINISHES);

  test('an .npmrc token repeated in one word: its \\S+, backtracking over every /:_authToken=', () => {
    expect(scanText(`//${filled('a/:_authToken=b', '\f!')}`)).toEqual([]);
  }, FINISHES);

  test('"aws" in every word: the AWS secret key, from every blank', () => {
    expect(scanText(filled('aws '))).toEqual([]);
  }, FINISHES);
});

describe('a structured file\'s value or key built against a pattern is checked in time linear in its length', () => {
  const entry = (key: string, value: string): DetectedSecret[] => scanEntries(new Map([[key, value]]));

  test('a value of empty lines: the blanks at a line\'s start, from every line to the value\'s end', () => {
    expect(entry('services.web.labels.note', filled('\n', '!'))).toEqual([]);
  }, FINISHES);

  test('a value of lines of one blank', () => {
    expect(entry('services.web.labels.note', filled(' \n', '!'))).toEqual([]);
  }, FINISHES);

  test('a JSON Web Token value whose end is no end', () => {
    expect(entry('services.web.labels.note', `eyJ${'a'.repeat(MB / 2)}.eyJ${'a'.repeat(MB / 2)}!`)).toEqual([]);
  }, FINISHES);

  test('a key of repeated keywords', () => {
    expect(entry(filled('token', '!'), 'Vx7#qL2!mZ9@wR4$kT8&')).toEqual([]);
  }, FINISHES);
});

describe('deep and wide structured files', () => {
  /** JSON objects nested `depth` deep, a token on a line of its own in the innermost. */
  const nestedJson = (depth: number): string => `${'{"a":'.repeat(depth - 1)}{"token":\n"${GITHUB}"\n}${'}'.repeat(depth - 1)}`;
  const asText = [
    { type: 'Github authentication', key: '', value: GITHUB },
    { type: 'High entropy string', key: '', value: GITHUB },
  ];

  test('a tree 100,000 deep is flattened without overflowing the stack', () => {
    let tree: unknown = { token: GITHUB };
    for (let i = 0; i < 100_000; i += 1) tree = { a: tree };
    expect([...flattenTree(tree)]).toEqual([[`${'a.'.repeat(100_000)}token`, GITHUB]]);
  });

  test('JSON nested 10,000 deep is read as JSON; a level deeper, as text, as Go\'s decoder refuses it', async () => {
    expect(await scanFile(await file('deep.json', nestedJson(10_000)))).toEqual([{ type: 'Github authentication', key: `${'a.'.repeat(9_999)}token`, value: GITHUB }]);
    expect(await scanFile(await file('deeper.json', nestedJson(10_001)))).toEqual(asText);
  });

  test('JSON nested 100,000 deep is read as text, without overflowing the stack', async () => {
    expect(await scanFile(await file('deepest.json', nestedJson(100_000)))).toEqual(asText);
  }, FINISHES);

  test('YAML nested 100,000 deep in brackets is read as text, without overflowing the stack', async () => {
    const path = await file('deep-flow.yaml', `a: ${'['.repeat(100_000)}\n${GITHUB}\n${']'.repeat(100_000)}\n`);
    expect(await scanFile(path)).toEqual(asText);
  }, FINISHES);

  test('YAML nested 100,000 deep in indented lists is read as text, without overflowing the stack', async () => {
    const path = await file('deep-block.yaml', `a:\n  ${'- '.repeat(100_000)}${GITHUB}\nb: 1\n`);
    expect(await scanFile(path)).toEqual(asText);
  }, FINISHES);

  test('YAML nested 100 deep is read as YAML', async () => {
    const path = await file('nested.yaml', `a: ${'['.repeat(100)}${GITHUB}${']'.repeat(100)}\n`);
    expect(await scanFile(path)).toEqual([{ type: 'Github authentication', key: `a${'[0]'.repeat(100)}`, value: GITHUB }]);
  });

  test('a YAML mapping of 100,000 keys is read in time linear in its length', async () => {
    const keys = Array.from({ length: 100_000 }, (_, i) => `key${i}: value`).join('\n');
    expect(await scanFile(await file('wide.yaml', `${keys}\ntoken: ${GITHUB}\n`))).toEqual([{ type: 'Github authentication', key: 'token', value: GITHUB }]);
  }, FINISHES);

  test('YAML with a repeated key is read as text, as compose\'s parser refuses it', async () => {
    expect(await scanFile(await file('repeated.yaml', `auth:\n  token: ${GITHUB}\nauth: x\n`))).toEqual([{ type: 'Github authentication', key: 'token', value: GITHUB }]);
  });

  test('YAML with 20,000 anchors and their aliases is read in time linear in its length', async () => {
    const aliases = Array.from({ length: 20_000 }, (_, i) => `a${i}: &x${i} v\nb${i}: *x${i}`).join('\n');
    expect(await scanFile(await file('aliases.yaml', `${aliases}\ntoken: ${GITHUB}\n`))).toEqual([{ type: 'Github authentication', key: 'token', value: GITHUB }]);
  }, FINISHES);

  test('YAML whose aliases expand it exponentially is read as text, as compose\'s parser refuses it', async () => {
    const levels = ['a: &a [x, x, x, x, x, x, x, x, x]'];
    for (const [previous, name] of ['ab', 'bc', 'cd', 'de', 'ef', 'fg', 'gh', 'hi']) levels.push(`${name}: &${name} [${Array(9).fill(`*${previous}`).join(', ')}]`);
    const path = await file('laughs.yaml', `${levels.join('\n')}\nauth:\n  token: ${GITHUB}\n`);
    expect(await scanFile(path)).toEqual([{ type: 'Github authentication', key: 'token', value: GITHUB }]);
  });
});

describe('GoRegexp, the scan\'s regular expressions', () => {
  test('a match is Go\'s: leftmost-first, a character a code point, `.` any but \\n, `\\s` ASCII', () => {
    expect(new GoRegexp('(?<x>a|ab)(?<y>c|bcd)').matchAll('abcd')).toEqual([{ x: 'a', y: 'bcd' }]);
    expect(new GoRegexp('^a.b$').test('a😀b')).toBe(true);
    expect(new GoRegexp('^a.b$').test('a\rb')).toBe(true);
    expect(new GoRegexp('a\\sb').test('a\vb')).toBe(false);
  });

  test('a pattern that tells more places apart than liveness keeps is matched all the same, thread by thread', () => {
    // Which of the next 14 characters are `b` is what its places differ in: 2^14 sets.
    let seed = 7;
    const text = Array.from({ length: 20_000 }, () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed & 0x40000000 ? 'a' : 'b';
    }).join('');
    const matches = new GoRegexp('(?<m>a[ab]{14}b)').matchAll(text).map(({ m }) => m);
    expect(matches).toEqual([...text.matchAll(/a[ab]{14}b/g)].map(([m]) => m));
    expect(matches.length).toBeGreaterThan(1000);
  });
});
