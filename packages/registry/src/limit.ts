/**
 * Run `work` over `items` with at most `concurrency` holding a slot. A call may `release()`
 * its slot before it settles — a download whose bytes are all in, with only its fsync and
 * commit left — so the next item starts at once; it is still awaited. The first failure
 * stops new work from starting and is rethrown once every started call has settled.
 */
export async function forEachLimit<T>(items: readonly T[], concurrency: number, work: (item: T, release: () => void) => Promise<void>): Promise<void> {
  let free = Math.max(1, concurrency);
  let next = 0;
  let failure: { error: unknown } | undefined;
  let wake: (() => void) | undefined;
  const started: Promise<void>[] = [];
  while (failure === undefined && next < items.length) {
    if (free === 0) {
      await new Promise<void>((resolve) => (wake = resolve));
      continue;
    }
    free -= 1;
    const item = items[next++] as T;
    let held = true;
    const release = (): void => {
      if (!held) return;
      held = false;
      free += 1;
      wake?.();
      wake = undefined;
    };
    started.push(
      work(item, release).then(release, (error: unknown) => {
        failure ??= { error };
        release();
      }),
    );
  }
  await Promise.all(started);
  if (failure !== undefined) throw failure.error;
}
