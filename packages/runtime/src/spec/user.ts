import { invalidArgument } from '@ctr/errors';
import { readFileInRoot } from '@ctr/image';
import type { ResolvedUser } from '../types';

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

const MAX_ID = 2 ** 32 - 2;

function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length < 4 || line.startsWith('#')) continue;
    const uid = Number(f[2]);
    const gid = Number(f[3]);
    if (!Number.isInteger(uid) || !Number.isInteger(gid)) continue;
    out.push({ name: f[0] as string, uid, gid, home: f[5] ?? '/' });
  }
  return out;
}

function parseGroup(text: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length < 3 || line.startsWith('#')) continue;
    const gid = Number(f[2]);
    if (!Number.isInteger(gid)) continue;
    out.push({ name: f[0] as string, gid, members: (f[3] ?? '').split(',').filter(Boolean) });
  }
  return out;
}

function numericId(value: string): number | undefined {
  if (!/^\d+$/.test(value)) return undefined;
  const n = Number(value);
  if (n > MAX_ID) throw invalidArgument(`uids and gids must be in range 0-${MAX_ID}: ${value}`);
  return n;
}

/**
 * Resolve a Docker `--user` value against the container's /etc/passwd and /etc/group
 * text, like runc's `user.GetExecUser`, and `--group-add` groups (names or numbers) as
 * further supplementary groups. Pure; `resolveUser` reads the files.
 */
export function resolveUserFrom(spec: string, passwdText: string, groupText: string, groupAdd: readonly string[] = []): ResolvedUser {
  const [userPart = '', groupPart] = spec.split(':', 2);
  const passwd = parsePasswd(passwdText);
  const groups = parseGroup(groupText);
  let uid: number;
  let gid: number;
  let name: string | undefined;
  let home: string | undefined;
  const uidNumber = numericId(userPart);
  const byName = passwd.find((p) => (uidNumber === undefined ? p.name === userPart : p.uid === uidNumber));
  if (byName) {
    ({ uid, gid, name, home } = byName);
  } else if (uidNumber !== undefined) {
    uid = uidNumber;
    gid = 0;
  } else if (userPart === '') {
    uid = 0;
    gid = 0;
  } else {
    throw invalidArgument(`unable to find user ${userPart}: no matching entries in passwd file`);
  }
  if (groupPart !== undefined && groupPart !== '') {
    const gidNumber = numericId(groupPart);
    const group = groups.find((g) => (gidNumber === undefined ? g.name === groupPart : g.gid === gidNumber));
    if (group) gid = group.gid;
    else if (gidNumber !== undefined) gid = gidNumber;
    else throw invalidArgument(`unable to find group ${groupPart}: no matching entries in group file`);
  }
  // Supplementary groups come from membership only when the group was not forced.
  const additionalGids =
    name !== undefined && (groupPart === undefined || groupPart === '')
      ? groups.filter((g) => g.members.includes(name as string) && g.gid !== gid).map((g) => g.gid)
      : [];
  for (const extra of groupAdd) {
    const gidNumber = numericId(extra);
    const added = gidNumber ?? groups.find((g) => g.name === extra)?.gid;
    if (added === undefined) throw invalidArgument(`unable to find group ${extra}: no matching entries in group file`);
    if (!additionalGids.includes(added)) additionalGids.push(added);
  }
  const out: ResolvedUser = { uid, gid, additionalGids };
  if (home !== undefined) out.home = home;
  return out;
}

/** Resolve `spec` against the rootfs's /etc/passwd and /etc/group, read safely inside it. */
export async function resolveUser(rootfs: string, spec: string | undefined, groupAdd?: readonly string[]): Promise<ResolvedUser> {
  return resolveUserFrom(spec ?? '', readFileInRoot(rootfs, '/etc/passwd') ?? '', readFileInRoot(rootfs, '/etc/group') ?? '', groupAdd);
}
