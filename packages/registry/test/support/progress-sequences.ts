import type { PullProgress, PushProgress } from '@ctr/registry';

/** Each layer's statuses in order, by blob digest. */
export function byLayer(events: readonly (PullProgress | PushProgress)[]): Map<string, string[]> {
  const layers = new Map<string, string[]>();
  for (const event of events) if (event.kind === 'layer') layers.set(event.digest, [...(layers.get(event.digest) ?? []), event.status]);
  return layers;
}

/** Whether `sequence` holds `wanted` in this order (others may come between). */
export function inOrder(sequence: readonly string[], wanted: readonly string[]): boolean {
  let at = 0;
  for (const status of sequence) if (status === wanted[at]) at += 1;
  return at === wanted.length;
}
