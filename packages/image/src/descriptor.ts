import type { Digest } from './digest';

/** Where an image can run. Field names as in the OCI image index. */
export interface Platform {
  architecture: string;
  os: string;
  'os.version'?: string;
  'os.features'?: string[];
  variant?: string;
  features?: string[];
}

/** A typed pointer to content: what it is, its digest and its size (OCI content descriptor). */
export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  data?: string;
  platform?: Platform;
  artifactType?: string;
}

export const Annotations = {
  refName: 'org.opencontainers.image.ref.name',
  created: 'org.opencontainers.image.created',
  /** containerd's annotation for the full image name in an OCI layout written by `docker save`. */
  imageName: 'io.containerd.image.name',
} as const;
