import type { Engine, EngineEvent, EventFilters } from '@ctr/engine';

/** A time (in seconds) after every event emitted so far: events are stamped to the millisecond. */
export async function afterEverything(): Promise<number> {
  const ms = Date.now();
  while (Date.now() <= ms) await new Promise((resolve) => setTimeout(resolve, 1));
  return Date.now() / 1000;
}

/** What `engine` journalled from `since` (seconds) to now that `filters` select. */
export async function eventsSince(engine: Engine, since: number, filters: EventFilters = {}): Promise<EngineEvent[]> {
  const out: EngineEvent[] = [];
  for await (const event of engine.events({ since, until: Date.now() / 1000, filters })) out.push(event);
  return out;
}

/** An event as `Type Action Actor.ID`: a sequence of them reads as `docker events` prints it. */
export function line(event: EngineEvent): string {
  return `${event.Type} ${event.Action} ${event.Actor.ID}`;
}
