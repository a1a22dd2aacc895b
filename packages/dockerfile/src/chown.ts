import { invalidArgument } from '@ctr/errors';
import { readFileInRoot } from '@ctr/image';
import type { Ownership } from './layer-writer';

function lookup(root: string, file: string, name: string): string[] | undefined {
  return (readFileInRoot(root, file) ?? '')
    .split('\n')
    .map((line) => line.split(':'))
    .find((fields) => fields[0] === name);
}

const numeric = (s: string): number | undefined => (/^\d+$/.test(s) ? Number(s) : undefined);

/**
 * `--chown=user[:group]`: numbers are used as they are; names are looked up in the image's
 * own /etc/passwd and /etc/group (never the host's). A user without a group gets the
 * user's primary group (or the same number as the UID), as Docker does.
 */
export async function resolveChown(spec: string, root: string): Promise<Ownership> {
  const [user = '', group] = spec.split(':', 2);
  const failure = (what: string): Error =>
    invalidArgument(`unable to convert uid/gid chown string to host mapping: ${what}`, { details: { chown: spec } });
  let uid = numeric(user);
  let primaryGid: number | undefined;
  if (uid === undefined) {
    const entry = lookup(root, 'etc/passwd', user);
    if (!entry || numeric(entry[2] ?? '') === undefined) throw failure(`can't find uid for user ${user}: no such user: ${user}`);
    uid = Number(entry[2]);
    primaryGid = numeric(entry[3] ?? '');
  }
  if (group === undefined || group === '') return { uid, gid: primaryGid ?? uid };
  let gid = numeric(group);
  if (gid === undefined) {
    const entry = lookup(root, 'etc/group', group);
    if (!entry || numeric(entry[2] ?? '') === undefined) throw failure(`can't find gid for group ${group}: no such group: ${group}`);
    gid = Number(entry[2]);
  }
  return { uid, gid };
}

/** `--chmod=755`: octal permission bits. */
export function parseChmod(spec: string): number {
  if (!/^[0-7]{3,4}$/.test(spec)) throw invalidArgument(`invalid chmod parameter: ${spec}`, { hint: 'Use octal permissions such as --chmod=755.' });
  return parseInt(spec, 8);
}
