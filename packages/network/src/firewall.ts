import { promises as fs } from 'node:fs';
import path from 'node:path';
import { run } from './exec';
import { withHostLock } from './lock';

/**
 * ctr's iptables rules live in its own chains, reached by one jump from each built-in
 * chain, and every rule carries a comment tag (`ctr:<root>:<owner>`), so removing a
 * network or a container's ports deletes exactly its rules, and gc can find orphans.
 */
export const Chains = {
  forward: 'CTR-FORWARD',
  isolation1: 'CTR-ISOLATION-1',
  isolation2: 'CTR-ISOLATION-2',
  dnat: 'CTR-DNAT',
  postrouting: 'CTR-POSTROUTING',
  prerouting: 'CTR-PREROUTING',
} as const;

export type Table = 'filter' | 'nat' | 'raw';
const TABLES: readonly Table[] = ['filter', 'nat', 'raw'];

export interface Rule {
  table: Table;
  chain: string;
  /** The match and target, without `-A chain` and without the comment. */
  spec: string;
}

const CHAINS: Array<{ table: Table; chain: string }> = [
  { table: 'filter', chain: Chains.forward },
  { table: 'filter', chain: Chains.isolation1 },
  { table: 'filter', chain: Chains.isolation2 },
  { table: 'nat', chain: Chains.dnat },
  { table: 'nat', chain: Chains.postrouting },
  { table: 'raw', chain: Chains.prerouting },
];

/**
 * The fixed rules that hook ctr's chains in. Those marked `first` must precede anything
 * added later: the jump into ctr's FORWARD chain, isolation before any accept, and in
 * isolation a pass for connections to published ports (DNAT), which containers on other
 * networks may reach through a host address, as with Docker.
 */
const HOOKS: Array<{ table: Table; chain: string; spec: string; first: boolean }> = [
  { table: 'filter', chain: 'FORWARD', spec: `-j ${Chains.forward}`, first: true },
  { table: 'filter', chain: Chains.forward, spec: `-j ${Chains.isolation1}`, first: true },
  { table: 'filter', chain: Chains.isolation1, spec: '-m conntrack --ctstate DNAT -j RETURN', first: true },
  { table: 'nat', chain: 'PREROUTING', spec: `-m addrtype --dst-type LOCAL -j ${Chains.dnat}`, first: false },
  { table: 'nat', chain: 'OUTPUT', spec: `-m addrtype --dst-type LOCAL -j ${Chains.dnat}`, first: false },
  { table: 'nat', chain: 'POSTROUTING', spec: `-j ${Chains.postrouting}`, first: false },
  { table: 'raw', chain: 'PREROUTING', spec: `-j ${Chains.prerouting}`, first: true },
];

let scaffolded = false;

async function save(table: Table): Promise<string[]> {
  return (await run('iptables-save', ['-t', table])).split('\n');
}

/** Creates ctr's chains and hooks if missing. Shared by every root on the host, never removed. */
export async function ensureChains(): Promise<void> {
  if (scaffolded) return;
  await withHostLock('iptables', async () => {
    const saved = { filter: await save('filter'), nat: await save('nat'), raw: await save('raw') };
    for (const { table, chain } of CHAINS) {
      if (!saved[table].some((l) => l.startsWith(`:${chain} `))) await run('iptables', ['-t', table, '-N', chain]);
    }
    for (const hook of HOOKS) {
      if (saved[hook.table].includes(`-A ${hook.chain} ${hook.spec}`)) continue;
      const where = hook.first ? ['-I', hook.chain, '1'] : ['-A', hook.chain];
      await run('iptables', ['-t', hook.table, ...where, ...hook.spec.split(' ')]);
    }
  });
  scaffolded = true;
}

function restoreInput(lines: Record<Table, string[]>): string {
  return TABLES.filter((t) => lines[t].length > 0)
    .map((t) => `*${t}\n${lines[t].join('\n')}\nCOMMIT\n`)
    .join('');
}

/** Adds rules atomically (one iptables-restore transaction), each tagged with `tag`. */
export async function addRules(tag: string, rules: Rule[]): Promise<void> {
  if (rules.length === 0) return;
  await ensureChains();
  const lines: Record<Table, string[]> = { filter: [], nat: [], raw: [] };
  for (const r of rules) lines[r.table].push(`-A ${r.chain} ${r.spec} -m comment --comment "${tag}"`);
  try {
    await run('iptables-restore', ['--noflush'], { input: restoreInput(lines) });
  } catch {
    // Someone flushed the tables under a long-lived process: hook the chains in again.
    scaffolded = false;
    await ensureChains();
    await run('iptables-restore', ['--noflush'], { input: restoreInput(lines) });
  }
}

/** Every rule whose comment starts with `needle`, as iptables-save prints it, per table. */
async function tagged(needle: string): Promise<Record<Table, string[]>> {
  const out: Record<Table, string[]> = { filter: [], nat: [], raw: [] };
  for (const table of TABLES) {
    out[table] = (await save(table)).filter((l) => l.startsWith('-A ') && l.includes(`--comment "${needle}`));
  }
  return out;
}

/**
 * Deletes every rule tagged exactly `tag`; returns how many. Another process may delete
 * some of them between our read and our delete (two gcs cleaning a deleted root), which
 * fails the whole transaction, so it reads again and retries.
 */
export async function removeTagged(tag: string): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    const found = await tagged(`${tag}"`);
    const count = TABLES.reduce((n, t) => n + found[t].length, 0);
    if (count === 0) return 0;
    const del = { filter: [] as string[], nat: [] as string[], raw: [] as string[] };
    for (const t of TABLES) del[t] = found[t].map((l) => `-D${l.slice(2)}`);
    try {
      await run('iptables-restore', ['--noflush'], { input: restoreInput(del) });
      return count;
    } catch (e) {
      if (attempt >= 3) throw e;
    }
  }
}

/** The distinct tags in use that start with `prefix` (for gc). */
export async function listTags(prefix: string): Promise<Set<string>> {
  const found = await tagged(prefix);
  const tags = new Set<string>();
  for (const line of TABLES.flatMap((t) => found[t])) {
    const m = /--comment "([^"]+)"/.exec(line);
    if (m?.[1]) tags.add(m[1]);
  }
  return tags;
}

/** Writes a sysctl of this process's network namespace, given as path segments. */
export async function setSysctl(key: string[], value: string): Promise<void> {
  const file = path.join('/proc/sys', ...key);
  const current = (await fs.readFile(file, 'utf8')).trim();
  if (current !== value) await fs.writeFile(file, value);
}
