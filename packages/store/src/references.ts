import { chainIdOf, isLayerType, parseDigest, parseDiffID, type ChainID, type Descriptor, type Digest } from '@ctr/image';
import type { LocalContentStore } from './content-store';

/** What a metadata blob points at: child blobs, and the layer chain a config describes. */
export interface BlobReferences {
  /** An index's children are per-platform choices: a store may hold only some of them. */
  isIndex: boolean;
  children: Descriptor[];
  /** A manifest's config and layers (also among `children`): its layer blobs pair with the config's chainIDs. */
  config?: Descriptor;
  layers: Descriptor[];
  chainIds: ChainID[];
}

const MAX_METADATA = 4 * 1024 * 1024;

/**
 * The references inside one blob, found by looking at its JSON rather than trusting a
 * media type (leases and old records may not carry one). Layers and large blobs are leaves.
 * A missing blob is NotFound.
 */
export async function blobReferences(content: LocalContentStore, descriptor: Pick<Descriptor, 'digest' | 'mediaType'>): Promise<BlobReferences> {
  const none: BlobReferences = { isIndex: false, children: [], layers: [], chainIds: [] };
  const { size } = await content.info(descriptor.digest);
  if ((descriptor.mediaType && isLayerType(descriptor.mediaType)) || size > MAX_METADATA || size === 0) return none;
  const bytes = await content.readBytes(descriptor.digest);
  if (bytes[0] !== 0x7b /* { */) return none;
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch {
    return none;
  }
  if (typeof json !== 'object' || json === null) return none;
  const doc = json as { manifests?: unknown; config?: unknown; layers?: unknown; subject?: unknown; rootfs?: { diff_ids?: unknown } };
  const config = descriptorOf(doc.config);
  const layers = list(doc.layers).map(descriptorOf).filter((d): d is Descriptor => d !== undefined);
  const children: Descriptor[] = [];
  for (const d of [...list(doc.manifests), doc.subject]) {
    const child = descriptorOf(d);
    if (child) children.push(child);
  }
  if (config) children.push(config);
  children.push(...layers);
  let chainIds: ChainID[] = [];
  if (Array.isArray(doc.rootfs?.diff_ids)) {
    try {
      chainIds = chainIdOf(doc.rootfs.diff_ids.map((d) => parseDiffID(String(d))));
    } catch {
      chainIds = [];
    }
  }
  return { isIndex: Array.isArray(doc.manifests), children, ...(config ? { config } : {}), layers, chainIds };
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function descriptorOf(value: unknown): Descriptor | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const d = value as { digest?: unknown; mediaType?: unknown; size?: unknown };
  try {
    const digest: Digest = parseDigest(String(d.digest));
    return { digest, mediaType: typeof d.mediaType === 'string' ? d.mediaType : '', size: typeof d.size === 'number' ? d.size : 0 };
  } catch {
    return undefined;
  }
}
