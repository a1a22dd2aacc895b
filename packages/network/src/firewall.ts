import { isUnavailable } from '@ctr/errors';
import { existsSync, promises as fs } from 'node:fs';
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

/** Which tool a rule is for: iptables, or ip6tables for a network's IPv6 subnet. */
export type Family = 4 | 6;

const TOOLS: Record<Family, { cmd: string; save: string; restore: string }> = {
  4: { cmd: 'iptables', save: 'iptables-save', restore: 'iptables-restore' },
  6: { cmd: 'ip6tables', save: 'ip6tables-save', restore: 'ip6tables-restore' },
};

export interface Rule {
  /** 6 for ip6tables; iptables when absent. */
  family?: Family;
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

/** The families whose chains and hooks this process has seen in place. */
const scaffolded = new Set<Family>();

async function save(table: Table, family: Family = 4): Promise<string[]> {
  return (await run(TOOLS[family].save, ['-t', table])).split('\n');
}

/** Creates ctr's chains and hooks if missing (the same for both families). Shared by every root on the host, never removed. */
export async function ensureChains(family: Family = 4): Promise<void> {
  if (scaffolded.has(family)) return;
  const { cmd } = TOOLS[family];
  await withHostLock('iptables', async () => {
    const saved = { filter: await save('filter', family), nat: await save('nat', family), raw: await save('raw', family) };
    for (const { table, chain } of CHAINS) {
      if (!saved[table].some((l) => l.startsWith(`:${chain} `))) await run(cmd, ['-t', table, '-N', chain]);
    }
    for (const hook of HOOKS) {
      if (saved[hook.table].includes(`-A ${hook.chain} ${hook.spec}`)) continue;
      const where = hook.first ? ['-I', hook.chain, '1'] : ['-A', hook.chain];
      await run(cmd, ['-t', hook.table, ...where, ...hook.spec.split(' ')]);
    }
  });
  scaffolded.add(family);
}

function restoreInput(lines: Record<Table, string[]>): string {
  return TABLES.filter((t) => lines[t].length > 0)
    .map((t) => `*${t}\n${lines[t].join('\n')}\nCOMMIT\n`)
    .join('');
}

/** Adds rules atomically (one iptables-restore transaction per family), each tagged with `tag`. */
export async function addRules(tag: string, rules: Rule[]): Promise<void> {
  for (const family of [4, 6] as const) {
    const mine = rules.filter((r) => (r.family ?? 4) === family);
    if (mine.length === 0) continue;
    await ensureChains(family);
    const lines: Record<Table, string[]> = { filter: [], nat: [], raw: [] };
    for (const r of mine) lines[r.table].push(`-A ${r.chain} ${r.spec} -m comment --comment "${tag}"`);
    const restore = TOOLS[family].restore;
    try {
      await run(restore, ['--noflush'], { input: restoreInput(lines) });
    } catch {
      // Someone flushed the tables under a long-lived process: hook the chains in again.
      scaffolded.delete(family);
      await ensureChains(family);
      await run(restore, ['--noflush'], { input: restoreInput(lines) });
    }
  }
}

/**
 * Every rule whose comment starts with `needle`, as ip(6)tables-save prints it, per table. A
 * host without ip6tables or IPv6 has no IPv6 rules of ours.
 */
async function tagged(needle: string, family: Family): Promise<Record<Table, string[]>> {
  const out: Record<Table, string[]> = { filter: [], nat: [], raw: [] };
  for (const table of TABLES) {
    const lines = await save(table, family).catch((e: unknown) => {
      // No ip6tables, or a kernel without IPv6 (ipv6.disable=1: ip6tables-save cannot open its tables).
      if (family === 6 && (isUnavailable(e) || !existsSync('/proc/net/if_inet6'))) return [];
      throw e;
    });
    out[table] = lines.filter((l) => l.startsWith('-A ') && l.includes(`--comment "${needle}`));
  }
  return out;
}

/**
 * Deletes every rule tagged exactly `tag` in the given families (IPv4 only unless told:
 * looking costs a process per table); returns how many. Another process may delete some of
 * them between our read and our delete (two gcs cleaning a deleted root), which fails the
 * whole transaction, so it reads again and retries.
 */
export async function removeTagged(tag: string, families: readonly Family[] = [4]): Promise<number> {
  let removed = 0;
  for (const family of families) {
    for (let attempt = 1; ; attempt++) {
      const found = await tagged(`${tag}"`, family);
      const count = TABLES.reduce((n, t) => n + found[t].length, 0);
      if (count === 0) break;
      const del = { filter: [] as string[], nat: [] as string[], raw: [] as string[] };
      for (const t of TABLES) del[t] = found[t].map((l) => `-D${l.slice(2)}`);
      try {
        await run(TOOLS[family].restore, ['--noflush'], { input: restoreInput(del) });
        removed += count;
        break;
      } catch (e) {
        if (attempt >= 3) throw e;
      }
    }
  }
  return removed;
}

/** Both families, for gc: whatever a root left, in either. */
export const BOTH_FAMILIES: readonly Family[] = [4, 6];

/** The distinct tags in use that start with `prefix`, in both families (for gc). */
export async function listTags(prefix: string): Promise<Set<string>> {
  const tags = new Set<string>();
  for (const family of BOTH_FAMILIES) {
    const found = await tagged(prefix, family);
    for (const line of TABLES.flatMap((t) => found[t])) {
      const m = /--comment "([^"]+)"/.exec(line);
      if (m?.[1]) tags.add(m[1]);
    }
  }
  return tags;
}

/** Writes a sysctl of this process's network namespace, given as path segments. */
export async function setSysctl(key: string[], value: string): Promise<void> {
  const file = path.join('/proc/sys', ...key);
  const current = (await fs.readFile(file, 'utf8')).trim();
  if (current !== value) await fs.writeFile(file, value);
}
