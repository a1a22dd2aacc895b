import { execFile } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { CtrError, invalidArgument } from '@ctr/errors';
import { fsyncDir, writeFileAtomic } from '@ctr/store';
import type { SwarmContext } from './context';
import type { RootCa } from './ids';
import { rpcError } from './store';
import type { NodeRole } from './types';

const run = promisify(execFile);

/** swarmkit's OUs: what a node certificate says its holder may do. */
export const ROLE_OU: Record<NodeRole, string> = { worker: 'swarm-worker', manager: 'swarm-manager' };

/** What a node certificate names: swarmkit's CN (node ID), OU (role) and O (cluster ID). */
export interface CertIdentity {
  nodeId: string;
  role: NodeRole;
  clusterId: string;
}

/** swarmkit's MinNodeCertExpiration: CAConfig.NodeCertExpiry is never shorter. */
export const MIN_NODE_CERT_EXPIRY_NS = 3_600_000_000_000;
/** swarmkit's DefaultNodeCertExpiration: 90 days. */
export const DEFAULT_NODE_CERT_EXPIRY_NS = 7_776_000_000_000_000;
/** swarmkit's CertBackdate: a certificate is valid from an hour before it is signed, so a node whose clock lags the manager's takes it. */
const CERT_BACKDATE_MS = 3_600_000;

/** A node's TLS material: the swarm's root CA, and its own certificate and key (PEM). */
export interface ClusterCredentials {
  ca: string;
  cert: string;
  key: string;
}

export function certificatesDir(ctx: SwarmContext): string {
  return path.join(ctx.root, 'swarm', 'certificates');
}

const CA_FILE = 'swarm-root-ca.crt';
const CA_KEY_FILE = 'swarm-root-ca.key';
const NODE_CERT_FILE = 'swarm-node.crt';
const NODE_KEY_FILE = 'swarm-node.key';
/** Where a new certificate waits while its key replaces the old one (swarmkit's KeyReadWriter's temporary path). */
const PENDING_CERT_FILE = '.swarm-node.crt';

/** openssl `args`; its standard output. */
async function openssl(args: string[], what: string, signal?: AbortSignal): Promise<string> {
  try {
    return (await run('openssl', args, { signal })).stdout;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new CtrError('Unsupported', `${what} needs openssl, which is not installed`, { hint: 'install openssl (the package of that name)' });
    }
    const stderr = (error as { stderr?: string }).stderr?.trim();
    throw new CtrError('Internal', `${what} with openssl: ${stderr || (error as Error).message}`, { cause: error });
  }
}

/** Runs `fn` with a private scratch directory, removed after (keys pass through it). */
async function scratch<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ctr-swarm-cert-'));
  try {
    return await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A file in a scratch directory, 0600 (a key may be one). */
function scratchFile(dir: string, name: string, text: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, text, { mode: 0o600 });
  return file;
}

/** The subject naming `identity` (O cluster, OU role, CN node, as swarmkit's signer writes it). */
function subject(identity: CertIdentity): string {
  // A node ID or cluster ID is base 36: nothing in it can change the subject's structure.
  if (!/^[a-z0-9]+$/.test(identity.nodeId) || !/^[a-z0-9]+$/.test(identity.clusterId)) throw invalidArgument('invalid node or cluster ID');
  return `/O=${identity.clusterId}/OU=${ROLE_OU[identity.role]}/CN=${identity.nodeId}`;
}

/**
 * A node's new key (ECDSA P-256, as swarmkit's) and its certificate signing request. A joining
 * node does not know its identity yet (the subject is a placeholder: the manager decides it); a
 * renewing node names itself, which the manager checks against the certificate it calls with.
 */
export async function newKeyAndCsr(identity?: CertIdentity, signal?: AbortSignal): Promise<{ key: string; csr: string }> {
  const named = identity ? subject(identity) : '/CN=swarm-node';
  return scratch(async (dir) => {
    const keyFile = path.join(dir, 'node.key');
    const csrFile = path.join(dir, 'node.csr');
    await openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyFile, '-out', csrFile, '-subj', named], 'making the node key', signal);
    return { key: readFileSync(keyFile, 'utf8'), csr: readFileSync(csrFile, 'utf8') };
  });
}

function checkCsr(csr: string): void {
  if (!/^-----BEGIN CERTIFICATE REQUEST-----[\s\S]+-----END CERTIFICATE REQUEST-----\s*$/.test(csr.trim())) {
    throw invalidArgument('rpc error: code = InvalidArgument desc = invalid certificate signing request');
  }
}

/** The node ID a CSR names (its one CN); undefined when it names none, or several. */
export async function csrCommonName(csr: string, signal?: AbortSignal): Promise<string | undefined> {
  checkCsr(csr);
  const named = await scratch((dir) => openssl(['req', '-in', scratchFile(dir, 'node.csr', csr), '-noout', '-subject', '-nameopt', 'RFC2253'], 'reading the certificate signing request', signal));
  // RFC 2253 escapes a separator inside a value with a backslash: only unescaped ones split.
  const names = named.trim().replace(/^subject=/, '').split(/(?<!\\)[,+]/).map((rdn) => rdn.trim());
  const cns = names.filter((rdn) => rdn.startsWith('CN=')).map((rdn) => rdn.slice(3));
  return cns.length === 1 ? cns[0] : undefined;
}

/** An instant as openssl ca's -startdate and -enddate take it (YYYYMMDDHHMMSSZ, UTC). */
function opensslTime(ms: number): string {
  return `${new Date(ms).toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;
}

/**
 * The CA signs a node's CSR as swarmkit's signer does: the subject is the manager's choice (CN
 * node ID, OU role, O cluster ID), whatever the CSR asked; the role and ID are also DNS names
 * (swarmkit's), for client and server use. Valid from an hour before `now` until
 * CAConfig.NodeCertExpiry after it (swarmkit's signing policy: an expiry under the minimum is the
 * default's). The CSR's own signature is checked by openssl (a CSR not made with the key it
 * carries is refused); nothing else of it is used.
 */
export async function signNodeCsr(
  ca: RootCa,
  csr: string,
  identity: CertIdentity,
  expiryNs: number,
  options: { signal?: AbortSignal; now?: number } = {},
): Promise<string> {
  checkCsr(csr);
  const named = subject(identity);
  const now = options.now ?? Date.now();
  const expiryMs = (expiryNs >= MIN_NODE_CERT_EXPIRY_NS ? expiryNs : DEFAULT_NODE_CERT_EXPIRY_NS) / 1e6;
  return scratch(async (dir) => {
    const ou = ROLE_OU[identity.role];
    // `openssl ca`, not `x509 -req`: it alone takes exact dates (openssl 3.0's x509 counts in days).
    // Its database is this scratch directory's: serials are random, nothing is kept.
    const config = scratchFile(dir, 'ca.cnf', `[ca]\ndefault_ca = swarm\n[swarm]\ndatabase = ${path.join(dir, 'index.txt')}\nnew_certs_dir = ${dir}\nrand_serial = yes\nunique_subject = no\npolicy = any\n[any]\n`);
    scratchFile(dir, 'index.txt', '');
    const ext = scratchFile(dir, 'ext.cnf', `basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=DNS:${ou},DNS:${identity.nodeId}\n`);
    const out = path.join(dir, 'node.crt');
    await openssl(
      [
        'ca', '-batch', '-config', config, '-in', scratchFile(dir, 'node.csr', csr), '-cert', scratchFile(dir, 'ca.crt', ca.cert), '-keyfile', scratchFile(dir, 'ca.key', ca.key),
        '-startdate', opensslTime(now - CERT_BACKDATE_MS), '-enddate', opensslTime(now + expiryMs), '-md', 'sha256',
        '-subj', named, '-preserveDN', '-extfile', ext, '-notext', '-out', out,
      ],
      'signing the node certificate',
      options.signal,
    );
    return readFileSync(out, 'utf8');
  });
}

/** swarmkit's check of CAConfig.NodeCertExpiry (controlapi's validateClusterSpec), in its words. */
export function checkNodeCertExpiry(expiryNs: number | undefined): void {
  if (expiryNs !== undefined && expiryNs < MIN_NODE_CERT_EXPIRY_NS) throw rpcError('InvalidArgument', 'InvalidArgument', 'minimum certificate expiry time is: 1h0m0s');
}

/** When a certificate is valid: from and until, in milliseconds since the epoch. */
export function certValidity(cert: string | X509Certificate): { from: number; until: number } {
  const x509 = typeof cert === 'string' ? new X509Certificate(cert) : cert;
  return { from: Date.parse(x509.validFrom), until: Date.parse(x509.validTo) };
}

/** Whether `cert` is the certificate of `key` (false when either is not PEM of its kind). */
export function certMatchesKey(cert: string, key: string): boolean {
  try {
    return new X509Certificate(cert).checkPrivateKey(createPrivateKey(key));
  } catch {
    return false;
  }
}

/** The identity a node certificate carries; undefined when it is not one of a swarm's node certificates. */
export function certIdentity(cert: string | X509Certificate): CertIdentity | undefined {
  const x509 = typeof cert === 'string' ? new X509Certificate(cert) : cert;
  const fields = new Map<string, string>();
  for (const line of x509.subject.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) fields.set(line.slice(0, eq), line.slice(eq + 1));
  }
  const nodeId = fields.get('CN');
  const clusterId = fields.get('O');
  const role = (Object.keys(ROLE_OU) as NodeRole[]).find((r) => ROLE_OU[r] === fields.get('OU'));
  if (!nodeId || !clusterId || !role) return undefined;
  return { nodeId, role, clusterId };
}

function readOptional(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * The node's TLS material on this root; undefined when it has none (not in a swarm, or a root of
 * session 38 before its node cert), or none whose key and certificate go together. A renewal
 * interrupted after its key was written (writeCredentials) is finished here, as swarmkit's reader does.
 */
export function readCredentials(ctx: SwarmContext): ClusterCredentials | undefined {
  const dir = certificatesDir(ctx);
  // Twice: a renewal may replace the pair between this read of the key and of the certificate.
  for (let attempt = 0; attempt < 2; attempt++) {
    const ca = readOptional(path.join(dir, CA_FILE));
    const key = readOptional(path.join(dir, NODE_KEY_FILE));
    if (ca === undefined || key === undefined) return undefined;
    const cert = readOptional(path.join(dir, NODE_CERT_FILE));
    if (cert !== undefined && certMatchesKey(cert, key)) return { ca, cert, key };
    const pending = readOptional(path.join(dir, PENDING_CERT_FILE));
    if (pending !== undefined && certMatchesKey(pending, key)) {
      try {
        renameSync(path.join(dir, PENDING_CERT_FILE), path.join(dir, NODE_CERT_FILE));
      } catch {
        // The writer (or another reader) finished it meanwhile.
      }
      return { ca, cert: pending, key };
    }
  }
  return undefined;
}

/** The root CA with its key (the manager's only); undefined elsewhere. */
export function readRootCa(ctx: SwarmContext): RootCa | undefined {
  const dir = certificatesDir(ctx);
  try {
    return { cert: readFileSync(path.join(dir, CA_FILE), 'utf8'), key: readFileSync(path.join(dir, CA_KEY_FILE), 'utf8') };
  } catch {
    return undefined;
  }
}

/**
 * Stores what a node holds (the CA's key only for the manager): the directory 0700, every file
 * 0600. The node's key and certificate are replaced as swarmkit's KeyReadWriter replaces them, so
 * that a crash at any point leaves a key with its certificate: the new certificate is written
 * aside first, then the new key in place, then the certificate renamed over the old one. Until
 * that rename, the key on disk is either the old one (the old certificate goes with it) or the
 * new one (readCredentials takes the certificate aside).
 */
export async function writeCredentials(ctx: SwarmContext, credentials: ClusterCredentials & { caKey?: string }): Promise<void> {
  const dir = certificatesDir(ctx);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  await writeFileAtomic(path.join(dir, CA_FILE), credentials.ca, { mode: 0o600 });
  if (credentials.caKey !== undefined) await writeFileAtomic(path.join(dir, CA_KEY_FILE), credentials.caKey, { mode: 0o600 });
  await writeFileAtomic(path.join(dir, PENDING_CERT_FILE), credentials.cert, { mode: 0o600 });
  await writeFileAtomic(path.join(dir, NODE_KEY_FILE), credentials.key, { mode: 0o600 });
  try {
    renameSync(path.join(dir, PENDING_CERT_FILE), path.join(dir, NODE_CERT_FILE));
  } catch (error) {
    // A reader that found the new key first finished the replacement (readCredentials).
    const finished = (error as NodeJS.ErrnoException).code === 'ENOENT' && readOptional(path.join(dir, NODE_CERT_FILE)) === credentials.cert;
    if (!finished) throw error;
  }
  await fsyncDir(dir);
}

/**
 * A manager's own certificate (OU swarm-manager): its listener's server certificate and its
 * client one; signed by itself, at init and at each renewal.
 */
export async function issueManagerCert(ctx: SwarmContext, ca: RootCa, nodeId: string, clusterId: string, expiryNs: number, signal?: AbortSignal): Promise<void> {
  const identity: CertIdentity = { nodeId, role: 'manager', clusterId };
  const { key, csr } = await newKeyAndCsr(identity, signal);
  const cert = await signNodeCsr(ca, csr, identity, expiryNs, { signal });
  await writeCredentials(ctx, { ca: ca.cert, caKey: ca.key, cert, key });
}
