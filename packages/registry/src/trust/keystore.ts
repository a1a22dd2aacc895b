import { createCipheriv, createPrivateKey, pbkdf2Sync, randomBytes, type KeyObject } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CtrError, invalidArgument } from '@ctr/errors';
import { tufKeyFromPrivate } from './keys';

/** `$DOCKER_CONFIG/trust` (default `~/.docker/trust`): where docker keeps signing keys and pinned TUF metadata. */
export function dockerTrustDirectory(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(env.DOCKER_CONFIG || path.join(os.homedir(), '.docker'), 'trust');
}

/** What a passphrase is asked for: notary's (keyName, alias, createNew, numAttempts). */
export interface PassphraseRequest {
  /** The key's ID (as notary names keys in prompts). */
  keyId: string;
  /** `root`, `targets`, `snapshot`, a signer's name, or `encrypted` for a file being imported. */
  role: string;
  createNew: boolean;
  /** 0 for the first ask; each wrong passphrase adds one. */
  attempt: number;
}

/** notary's PassRetriever: a passphrase, or give up (wrong ones will not get better). */
export type PassphraseRetriever = (request: PassphraseRequest) => Promise<{ passphrase: string; giveUp: boolean }>;

/** A terminal (or piped stdin) to ask passphrases on: what docker's `cli.In()` / `cli.Out()` are. */
export interface PassphrasePrompt {
  ask(question: string): Promise<string>;
  say(line: string): void;
}

const ROOT_KEY_WARNING = `You are about to create a new root signing key passphrase. This passphrase
will be used to protect the most sensitive key in your signing system. Please
choose a long, complex passphrase and be careful to keep the password and the
key file itself secure and backed up. It is highly recommended that you use a
password manager to generate the passphrase and keep it safe. There will be no
way to recover this key. You can find the key in your config directory.`;

/** docker's alias map: the keys its prompts call "repository" keys (a signer's key goes by its name). */
const REPOSITORY_ALIASES = new Set(['snapshot', 'targets', 'default']);

/**
 * docker's GetPassphraseRetriever: DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE for root keys,
 * DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE for every other; without them, notary's prompts on
 * `prompt` (each alias's answer kept for the rest of the command), in notary's words.
 */
export function dockerPassphraseRetriever(env: NodeJS.ProcessEnv, prompt?: PassphrasePrompt): PassphraseRetriever {
  const cache = new Map<string, string>();
  return async ({ keyId, role, createNew, attempt }) => {
    const fromEnv = role === 'root' ? env.DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE : env.DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE;
    // As docker: a passphrase from the environment is tried once.
    if (fromEnv) return { passphrase: fromEnv, giveUp: attempt > 1 };
    if (prompt === undefined) throw new CtrError('Unauthorized', 'Please either use environment variables or STDIN with a terminal to provide key passphrases');
    if (attempt === 0) {
      if (role === 'root' && createNew) prompt.say(ROOT_KEY_WARNING);
      const cached = cache.get(role);
      if (cached !== undefined) return { passphrase: cached, giveUp: false };
    } else if (!createNew) {
      if (attempt > 3) throw new CtrError('Unauthorized', 'Too many attempts');
      prompt.say('Passphrase incorrect. Please retry.');
    }
    const shown = REPOSITORY_ALIASES.has(role) ? 'repository' : role;
    const withId = keyId.length > 7 ? ` with ID ${keyId.slice(0, 7)}` : '';
    const passphrase = (await prompt.ask(createNew ? `Enter passphrase for new ${shown} key${withId}: ` : `Enter passphrase for ${shown} key${withId}: `)).trim();
    if (createNew) {
      if (passphrase.length < 8) {
        prompt.say('Passphrase is too short. Please use a password manager to generate and store a good random passphrase.');
        throw new CtrError('InvalidArgument', 'Passphrase too short');
      }
      if ((await prompt.ask(`Repeat passphrase for new ${shown} key${withId}: `)).trim() !== passphrase) {
        prompt.say('Passphrases do not match. Please retry.');
        throw new CtrError('InvalidArgument', 'The entered passphrases do not match');
      }
    }
    cache.set(role, passphrase);
    return { passphrase, giveUp: false };
  };
}

/** A key file's facts, from its PEM headers (no passphrase needed). */
export interface StoredKeyInfo {
  /** The canonical key ID: sha256 of the TUF public key (for a root key, of the key, not its certificate). */
  id: string;
  role: string;
  /** The repository the key is for; empty for root and signer keys, which serve any. */
  gun: string;
}

// DER, just enough for PKCS#8's EncryptedPrivateKeyInfo.
function der(tag: number, body: Buffer): Buffer {
  const length = body.length;
  const head = length < 0x80 ? Buffer.from([tag, length]) : length < 0x100 ? Buffer.from([tag, 0x81, length]) : Buffer.from([tag, 0x82, length >> 8, length & 0xff]);
  return Buffer.concat([head, body]);
}
const sequence = (...items: Buffer[]): Buffer => der(0x30, Buffer.concat(items));
const octets = (bytes: Buffer): Buffer => der(0x04, bytes);
const integer = (n: number): Buffer => der(0x02, Buffer.from(n < 0x80 ? [n] : [n >> 8, n & 0xff]));
const OID_PBES2 = Buffer.from('06092a864886f70d01050d', 'hex');
const OID_PBKDF2 = Buffer.from('06092a864886f70d01050c', 'hex');
const OID_AES256_CBC = Buffer.from('060960864801650304012a', 'hex');
const PBKDF2_ITERATIONS = 2048;

/**
 * The key as notary writes it: PKCS#8 encrypted with PBES2 (PBKDF2 with HMAC-SHA1, 2048
 * rounds, 8-byte salt; AES-256-CBC). Notary reads no other scheme (it always derives with
 * SHA-1), so OpenSSL's default (HMAC-SHA256) would make keys docker cannot open.
 */
export function encryptPrivateKey(key: KeyObject, passphrase: string): Buffer {
  const plain = key.export({ format: 'der', type: 'pkcs8' });
  const salt = randomBytes(8);
  const iv = randomBytes(16);
  const secret = pbkdf2Sync(passphrase, salt, PBKDF2_ITERATIONS, 32, 'sha1');
  const cipher = createCipheriv('aes-256-cbc', secret, iv);
  const encrypted = Buffer.concat([cipher.update(plain), cipher.final()]);
  const algorithm = sequence(OID_PBES2, sequence(sequence(OID_PBKDF2, sequence(octets(salt), integer(PBKDF2_ITERATIONS))), sequence(OID_AES256_CBC, octets(iv))));
  return sequence(algorithm, octets(encrypted));
}

/**
 * A PEM block with Go's header lines (`role: targets`), sorted as encoding/pem writes them. A
 * header that would break its line (a colon in its name, a line break anywhere) is refused: it
 * would add headers of its own (`gun:`) to the block, which the key store trusts when it reads.
 */
export function encodePem(type: string, body: Buffer, headers: Record<string, string> = {}): string {
  for (const [name, value] of Object.entries(headers)) {
    if (/[:\r\n]/.test(name)) throw invalidArgument('pem: cannot encode a header key that contains a colon or a line break');
    if (/[\r\n]/.test(value)) throw invalidArgument(`pem: cannot encode the ${name} header: its value ${JSON.stringify(value)} contains a line break`);
  }
  const lines = Object.keys(headers)
    .sort()
    .map((name) => `${name}: ${headers[name]}\n`)
    .join('');
  const base64 = body.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n');
  return `-----BEGIN ${type}-----\n${lines}${lines ? '\n' : ''}${base64}-----END ${type}-----\n`;
}

export interface PemBlock {
  type: string;
  headers: Record<string, string>;
  body: Buffer;
}

/** The first PEM block of `text`, headers and all (Node's parsers do not take notary's headers). */
export function decodePem(text: string): PemBlock | undefined {
  const match = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/.exec(text);
  if (!match) return undefined;
  const headers: Record<string, string> = {};
  const lines = (match[2] as string).split(/\r?\n/);
  let i = 0;
  for (; i < lines.length && lines[i]!.includes(':'); i++) {
    const line = lines[i] as string;
    headers[line.slice(0, line.indexOf(':')).trim()] = line.slice(line.indexOf(':') + 1).trim();
  }
  return { type: match[1] as string, headers, body: Buffer.from(lines.slice(i).join(''), 'base64') };
}

/** Decrypt (or just read) a private key's PEM block; undefined for a wrong passphrase. */
function openPrivateKey(block: PemBlock, passphrase: string | undefined): KeyObject | undefined {
  const plainPem = encodePem(block.type, block.body, Object.fromEntries(Object.entries(block.headers).filter(([name]) => name === 'Proc-Type' || name === 'DEK-Info')));
  try {
    return createPrivateKey(passphrase === undefined ? plainPem : { key: plainPem, passphrase });
  } catch {
    return undefined;
  }
}

const isEncrypted = (block: PemBlock): boolean => block.type === 'ENCRYPTED PRIVATE KEY' || 'DEK-Info' in block.headers;

/**
 * Docker's signing keys as notary's KeyFileStore keeps them: `<trust dir>/private/<key ID>.key`,
 * each an encrypted PKCS#8 PEM with `role:` (and for a repository's keys `gun:`) headers,
 * mode 0600 in a 0700 directory; passphrases from the retriever, retried as notary does.
 */
export class TrustKeyStore {
  readonly directory: string;

  constructor(
    trustDirectory: string,
    private readonly passphrases: PassphraseRetriever,
  ) {
    this.directory = path.join(trustDirectory, 'private');
  }

  /** Every key in the store, by the headers of its file. */
  async list(): Promise<StoredKeyInfo[]> {
    let names: string[];
    try {
      names = await fs.readdir(this.directory);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const keys: StoredKeyInfo[] = [];
    for (const name of names.filter((n) => n.endsWith('.key')).sort()) {
      const block = decodePem(await fs.readFile(path.join(this.directory, name), 'utf8'));
      if (block?.headers.role !== undefined) keys.push({ id: name.slice(0, -'.key'.length), role: block.headers.role, gun: block.headers.gun ?? '' });
    }
    return keys;
  }

  /** The IDs of the keys for `role` (and `gun`, for a repository's own keys), sorted: docker picks the first. */
  async idsFor(role: string, gun?: string): Promise<string[]> {
    return (await this.list()).filter((key) => key.role === role && (gun === undefined || key.gun === gun)).map((key) => key.id);
  }

  async has(id: string): Promise<boolean> {
    return fs.access(this.file(id)).then(
      () => true,
      () => false,
    );
  }

  /**
   * The private key `id`, decrypted: notary's GetPasswdDecryptBytes, which asks again after a
   * wrong passphrase until the retriever gives up ("password invalid, operation has failed.").
   */
  async load(id: string): Promise<KeyObject> {
    let text: string;
    try {
      text = await fs.readFile(this.file(id), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new CtrError('NotFound', `signing key not found: ${id}`, { details: { keyId: id } });
      throw error;
    }
    const block = decodePem(text);
    if (block === undefined) throw invalidArgument(`key file ${this.file(id)} is not PEM`);
    return this.decrypt(block, id, block.headers.role ?? 'default');
  }

  /** Decrypt a key block, asking passphrases for `role` until one opens it or the retriever gives up. */
  async decrypt(block: PemBlock, id: string, role: string): Promise<KeyObject> {
    if (!isEncrypted(block)) {
      const key = openPrivateKey(block, undefined);
      if (key === undefined) throw invalidArgument(`key ${id} is not a private key notary can read`);
      return key;
    }
    for (let attempt = 0; attempt <= 10; attempt++) {
      const { passphrase, giveUp } = await this.passphrases({ keyId: id, role, createNew: false, attempt });
      if (giveUp) break;
      const key = openPrivateKey(block, passphrase);
      if (key !== undefined) return key;
    }
    throw new CtrError('Unauthorized', 'password invalid, operation has failed.', { details: { keyId: id } });
  }

  /** Store `key` for `role` (and `gun`), encrypted with a new passphrase; resolves to its ID. */
  async add(key: KeyObject, role: string, gun = ''): Promise<string> {
    const id = tufKeyFromPrivate(key).id;
    const { passphrase } = await this.passphrases({ keyId: id, role, createNew: true, attempt: 0 });
    await fs.mkdir(this.directory, { recursive: true, mode: 0o700 });
    const pem = encodePem('ENCRYPTED PRIVATE KEY', encryptPrivateKey(key, passphrase), { role, ...(gun ? { gun } : {}) });
    await fs.writeFile(this.file(id), pem, { mode: 0o600 });
    return id;
  }

  /** Forget key `id` (the file goes). */
  async remove(id: string): Promise<void> {
    await fs.rm(this.file(id), { force: true });
  }

  private file(id: string): string {
    if (!/^[0-9a-f]{64}$/.test(id)) throw invalidArgument(`invalid key ID ${JSON.stringify(id)}`);
    return path.join(this.directory, `${id}.key`);
  }
}
