import { invalidArgument } from '@ctr/errors';

/** Runs a task once fewer than the limit's number of tasks run: the task's own result. */
export type Limit = <T>(task: () => Promise<T>) => Promise<T>;

/**
 * compose's `--parallel` value checked: an integer, a positive one a limit, -1 (the default),
 * 0 or any other negative no limit, as compose takes them. `source` names where it came from.
 */
export function checkParallel(value: number, source = 'parallel'): number {
  if (Number.isInteger(value)) return value;
  throw invalidArgument(`${source} must be an integer (found: ${value})`);
}

/**
 * At most `parallel` tasks at once, as compose's errgroup SetLimit and its dependency graph's
 * WithMaxConcurrency bound what it asks of the engine; no limit when undefined or not positive.
 */
export function concurrencyLimit(parallel: number | undefined): Limit {
  if (parallel === undefined || checkParallel(parallel) <= 0) return async (task) => task();
  let running = 0;
  const waiting: (() => void)[] = [];
  return async (task) => {
    if (running < parallel) running++;
    // A finishing task hands its slot straight to the first waiting one.
    else await new Promise<void>((resolve) => waiting.push(resolve));
    try {
      return await task();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  };
}

/**
 * compose's errgroup with SetLimit: tasks started as they are given, at most `parallel` at
 * once; `wait` ends once every one has, with the first failure. A failure is caught as it
 * happens, so none goes unhandled while more tasks are being given, and the tasks still
 * waiting for a slot then do not start, as errgroup's context cancels them.
 */
export class TaskGroup {
  private readonly limit: Limit;
  private readonly tasks: Promise<void>[] = [];
  private failure: { error: unknown } | undefined;

  constructor(parallel: number | undefined) {
    this.limit = concurrencyLimit(parallel);
  }

  go(task: () => Promise<void>): void {
    this.tasks.push(
      this.limit(async () => {
        if (this.failure) return;
        try {
          await task();
        } catch (error) {
          // Noted before the slot is handed on, so the task waiting for it sees the failure.
          this.failure ??= { error };
        }
      }),
    );
  }

  async wait(): Promise<void> {
    await Promise.all(this.tasks);
    if (this.failure) throw this.failure.error;
  }
}
