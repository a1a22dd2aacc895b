import { execFile } from 'node:child_process';
import { randomBytes, X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { CtrError, invalidArgument } from '@ctr/errors';
import { writeFileAtomic } from '@ctr/store';
import type { SwarmContext } from './context';
import type { RootCa } from './ids';
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

async function openssl(args: string[], what: string, signal?: AbortSignal): Promise<void> {
  try {
    await run('openssl', args, { signal });
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

/**
 * A node's new key (ECDSA P-256, as swarmkit's) and its certificate signing request. The
 * subject is a placeholder: the manager decides the node's identity and writes it when it signs.
 */
export async function newKeyAndCsr(signal?: AbortSignal): Promise<{ key: string; csr: string }> {
  return scratch(async (dir) => {
    const keyFile = path.join(dir, 'node.key');
    const csrFile = path.join(dir, 'node.csr');
    await openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyFile, '-out', csrFile, '-subj', '/CN=swarm-node'], 'making the node key', signal);
    return { key: readFileSync(keyFile, 'utf8'), csr: readFileSync(csrFile, 'utf8') };
  });
}

/**
 * The CA signs a node's CSR as swarmkit's signer does: the subject is the manager's choice (CN
 * node ID, OU role, O cluster ID), whatever the CSR asked; the role and ID are also DNS names
 * (swarmkit's), for client and server use, valid for CAConfig.NodeCertExpiry. The CSR's own
 * signature is checked by openssl (a CSR not made with the key it carries is refused).
 */
export async function signNodeCsr(ca: RootCa, csr: string, identity: CertIdentity, expiryNs: number, signal?: AbortSignal): Promise<string> {
  if (!/^-----BEGIN CERTIFICATE REQUEST-----[\s\S]+-----END CERTIFICATE REQUEST-----\s*$/.test(csr.trim())) {
    throw invalidArgument('rpc error: code = InvalidArgument desc = invalid certificate signing request');
  }
  // A node ID or cluster ID is base 36: nothing in it can change the subject's structure.
  if (!/^[a-z0-9]+$/.test(identity.nodeId) || !/^[a-z0-9]+$/.test(identity.clusterId)) throw invalidArgument('invalid node or cluster ID');
  const days = Math.max(1, Math.ceil(expiryNs / 1e9 / 86400));
  return scratch(async (dir) => {
    const file = (name: string, text: string): string => {
      const p = path.join(dir, name);
      writeFileSync(p, text, { mode: 0o600 });
      return p;
    };
    const ou = ROLE_OU[identity.role];
    const ext = file('ext.cnf', `basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=DNS:${ou},DNS:${identity.nodeId}\n`);
    const out = path.join(dir, 'node.crt');
    await openssl(
      [
        'x509', '-req', '-in', file('node.csr', csr), '-CA', file('ca.crt', ca.cert), '-CAkey', file('ca.key', ca.key),
        '-set_serial', `0x${randomBytes(16).toString('hex')}`, '-days', String(days), '-sha256',
        '-subj', `/O=${identity.clusterId}/OU=${ou}/CN=${identity.nodeId}`, '-extfile', ext, '-out', out,
      ],
      'signing the node certificate',
      signal,
    );
    return readFileSync(out, 'utf8');
  });
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

/** The node's TLS material on this root; undefined when it has none (not in a swarm, or a root of session 38 before its node cert). */
export function readCredentials(ctx: SwarmContext): ClusterCredentials | undefined {
  const dir = certificatesDir(ctx);
  try {
    return {
      ca: readFileSync(path.join(dir, CA_FILE), 'utf8'),
      cert: readFileSync(path.join(dir, NODE_CERT_FILE), 'utf8'),
      key: readFileSync(path.join(dir, NODE_KEY_FILE), 'utf8'),
    };
  } catch {
    return undefined;
  }
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

/** Stores what a node holds (the CA's key only for the manager): the directory 0700, every file 0600. */
export async function writeCredentials(ctx: SwarmContext, credentials: ClusterCredentials & { caKey?: string }): Promise<void> {
  const dir = certificatesDir(ctx);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  await writeFileAtomic(path.join(dir, CA_FILE), credentials.ca, { mode: 0o600 });
  if (credentials.caKey !== undefined) await writeFileAtomic(path.join(dir, CA_KEY_FILE), credentials.caKey, { mode: 0o600 });
  await writeFileAtomic(path.join(dir, NODE_KEY_FILE), credentials.key, { mode: 0o600 });
  await writeFileAtomic(path.join(dir, NODE_CERT_FILE), credentials.cert, { mode: 0o600 });
}

/** A manager's own certificate (OU swarm-manager): its listener's server certificate and its client one. */
export async function issueManagerCert(ctx: SwarmContext, ca: RootCa, nodeId: string, clusterId: string, expiryNs: number, signal?: AbortSignal): Promise<void> {
  const { key, csr } = await newKeyAndCsr(signal);
  const cert = await signNodeCsr(ca, csr, { nodeId, role: 'manager', clusterId }, expiryNs, signal);
  await writeCredentials(ctx, { ca: ca.cert, caKey: ca.key, cert, key });
}
