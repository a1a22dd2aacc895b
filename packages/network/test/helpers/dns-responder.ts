import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * A DNS server of the test's own, standing in for an upstream (`--dns`, or the host's
 * resolv.conf): it answers A for the names it is given, NOERROR without records for their
 * other types, NXDOMAIN for the rest, and reports every question it gets. It runs as its own
 * process so it can bind port 53 inside a test namespace (nsenter) or on a 127.x address of
 * the host; it never sends anything but replies to whoever asked.
 */
export interface DnsResponder {
  address: string;
  /** `name type` of every question so far, in order (`only-upstream.test A`). */
  questions(): string[];
  stop(): Promise<void>;
}

/**
 * The process's script: built-ins only, configured by argv (address, JSON of name → IPv4,
 * the file questions are appended to). A question is in the file before its reply leaves, so
 * a test that has the reply can read the file at once (its own event loop may be blocked).
 */
function responderMain(address: string, recordsJson: string, questionsFile: string): void {
  const dgram = require('node:dgram') as typeof import('node:dgram');
  const fs = require('node:fs') as typeof import('node:fs');
  const records = JSON.parse(recordsJson) as Record<string, string>;
  const TYPES: Record<number, string> = { 1: 'A', 28: 'AAAA', 12: 'PTR' };
  const sock = dgram.createSocket('udp4');
  sock.on('message', (msg, rinfo) => {
    if (msg.length < 12) return;
    const labels: string[] = [];
    let off = 12;
    while (off < msg.length && msg[off] !== 0) {
      const len = msg[off] ?? 0;
      labels.push(msg.toString('latin1', off + 1, off + 1 + len));
      off += 1 + len;
    }
    off += 1;
    const qtype = msg.readUInt16BE(off);
    const name = labels.join('.').toLowerCase();
    fs.appendFileSync(questionsFile, `${name} ${TYPES[qtype] ?? qtype}\n`);
    const ip = records[name];
    const header = Buffer.alloc(12);
    header.writeUInt16BE(msg.readUInt16BE(0), 0);
    header.writeUInt16BE(0x8180 | (ip === undefined ? 3 : 0), 2);
    header.writeUInt16BE(1, 4);
    const answers: Buffer[] = [];
    if (ip !== undefined && qtype === 1) {
      const rr = Buffer.alloc(16);
      rr.writeUInt16BE(0xc00c, 0);
      rr.writeUInt16BE(1, 2);
      rr.writeUInt16BE(1, 4);
      rr.writeUInt32BE(30, 6);
      rr.writeUInt16BE(4, 10);
      ip.split('.').forEach((p, i) => rr.writeUInt8(Number(p), 12 + i));
      answers.push(rr);
    }
    header.writeUInt16BE(answers.length, 6);
    sock.send(Buffer.concat([header, msg.subarray(12, off + 4), ...answers]), rinfo.port, rinfo.address);
  });
  sock.bind(53, address, () => process.stdout.write('ready\n'));
}

/** Starts a responder on `address`:53, in the namespace at `netnsPath` when given. */
export async function startResponder(address: string, records: Record<string, string>, netnsPath?: string): Promise<DnsResponder> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ctr-dns-responder-'));
  const questionsFile = path.join(dir, 'questions');
  appendFileSync(questionsFile, '');
  const code = `(${responderMain.toString()})(process.argv[1], process.argv[2], process.argv[3])`;
  const node = [process.execPath, '-e', code, address, JSON.stringify(records), questionsFile];
  const child: ChildProcess = netnsPath
    ? spawn('nsenter', [`--net=${netnsPath}`, ...node], { stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(node[0] as string, node.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  for (let i = 0; i < 200 && !out.startsWith('ready\n'); i++) {
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  if (!out.startsWith('ready\n')) {
    await stop();
    throw new Error(`the test DNS responder did not start on ${address}:53: ${err}`);
  }
  return {
    address,
    questions: () => readFileSync(questionsFile, 'utf8').split('\n').filter(Boolean),
    stop,
  };
}
