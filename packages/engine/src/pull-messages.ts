import type { PullMessage } from '@ctr/dockerfile';
import { parseNormalizedReference, type Reference } from '@ctr/image';
import type { PullProgress } from '@ctr/registry';
import { familiarImageName, normalizeImageName, type TagPullEvent } from './images';

/**
 * A pull told in dockerd's words, as its JSON stream has them: `Pulling from library/busybox`
 * under the tag (or the digest), each layer's status under its short ID, `Digest: sha256:…`, then whether the
 * name now means another image. The API streams these messages, the CLI draws them as lines
 * and a build shows them as its events: one wording for all, and one reading of a daemon's.
 */

const PULLING_FROM = 'Pulling from ';
const DIGEST = 'Digest: ';
const NEWER = 'Status: Downloaded newer image for ';
const UP_TO_DATE = 'Status: Image is up to date for ';

/** A pull's progress event, as the engine gives it or a daemon tells it (a layer's short ID, no digest). */
export type PullProgressEvent = Omit<PullProgress, 'digest'>;

/** What a pull resolves with that its last messages tell: the image ID and the manifest (or index) digest. */
export interface PulledImageIds {
  record: { id: string; target: { digest: string } };
}

/** `Pulling from <path>` under `id`, the tag (or digest) pulled. */
function pullingFromMessage(reference: Reference, id: string): PullMessage {
  return { status: `${PULLING_FROM}${reference.path}`, id };
}

/** A layer's status (with its bytes, `{}` when it has none); an image config's has no message, as dockerd shows none. */
export function layerMessage(event: PullProgressEvent): PullMessage | undefined {
  if (event.kind !== 'layer') return undefined;
  return { status: event.status, id: event.id, progress: { ...(event.current ? { current: event.current } : {}), ...(event.total ? { total: event.total } : {}) } };
}

function digestMessage(digest: string): PullMessage {
  return { status: `${DIGEST}${digest}` };
}

/** The last message: whether `name` now means another image than before the pull. */
export function pullOutcomeMessage(updated: boolean, name: string): PullMessage {
  return { status: `${updated ? NEWER : UP_TO_DATE}${name}` };
}

/** A tag's turn in `pullAllTags` of `repository`: its `Pulling from` as it starts, its digest as it ends. */
export function tagPullMessage(event: TagPullEvent, repository: Reference): PullMessage {
  return event.status === 'Pulling' ? pullingFromMessage(repository, event.tag) : digestMessage(event.digest);
}

/** What one of a daemon's pull messages says about the pull, beyond its layers. */
export type PullNews = { kind: 'pulling'; id: string } | { kind: 'digest'; digest: string } | { kind: 'outcome'; updated: boolean };

/** A daemon's pull message read back (the reverse of the messages above); undefined for a layer's or another. */
export function readPullMessage(message: { status?: string; id?: string }): PullNews | undefined {
  const status = message.status ?? '';
  if (status.startsWith(PULLING_FROM) && message.id) return { kind: 'pulling', id: message.id };
  if (status.startsWith(DIGEST)) return { kind: 'digest', digest: status.slice(DIGEST.length) };
  if (status.startsWith(NEWER)) return { kind: 'outcome', updated: true };
  if (status.startsWith(UP_TO_DATE)) return { kind: 'outcome', updated: false };
  return undefined;
}

/**
 * One pull of `ref` told to `tell` as dockerd tells it: `Pulling from` once (see `pulling`),
 * each layer's progress (`progress`, the pull's listener), then its digest and outcome (`pulled`).
 */
export class PullMessages {
  private readonly reference: Reference;
  private readonly id: string;
  private announced = false;

  constructor(
    private readonly ref: string,
    private readonly tell: (message: PullMessage) => void,
  ) {
    this.reference = parseNormalizedReference(ref);
    // What `Pulling from` stands under: the digest of a `name:tag@digest`, as moby's pullTag prefers it.
    this.id = this.reference.digest ?? this.reference.tag ?? '';
  }

  /**
   * `Pulling from`, the first time only. dockerd writes it once the registry has the manifest,
   * so a name the registry does not know says only that: the pull's first event or its end
   * calls this.
   */
  private pulling(): void {
    if (!this.announced) this.tell(pullingFromMessage(this.reference, this.id));
    this.announced = true;
  }

  /** The pull's progress listener. */
  readonly progress = (event: PullProgressEvent): void => {
    this.pulling();
    const message = layerMessage(event);
    if (message) this.tell(message);
  };

  /** The pull is done: its digest, and whether the name means another image than `before`, the one it meant until now. */
  pulled(image: PulledImageIds, before: string | undefined): void {
    this.pulling();
    this.tell(digestMessage(image.record.target.digest));
    this.tell(pullOutcomeMessage(image.record.id !== before, familiarImageName(normalizeImageName(this.ref))));
  }
}
