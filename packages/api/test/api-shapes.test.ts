import type Dockerode from 'dockerode';
import type { ContainerInspect, ContainerSummary, ImageInspect, ImageSummary } from '@ctr/engine';
import type { ContainerCreateRequest, HostConfig } from '@ctr/api';

/**
 * ctr's Engine API shapes are written from the API reference, so they could drift. This file
 * holds them against an independent description of the same API, @types/dockerode: every
 * field both know must have a compatible type, all the way down, and no field dockerode
 * always expects may be missing (so a typo such as `Ip` for `IP` cannot hide).
 * `npm run typecheck` compiles it; the tests name what is checked.
 */
type Primitive = string | number | boolean | null | undefined;

/** The paths (a.b.c) where A and B both have a field but of incompatible types. */
type Clashes<A, B, Path extends string = ''> = [A] extends [B]
  ? never
  : A extends Primitive
    ? Path
    : A extends ReadonlyArray<infer AI>
      ? [B] extends [ReadonlyArray<infer BI>]
        ? Clashes<AI, BI, `${Path}[]`>
        : Path
      : [B] extends [Primitive]
        ? Path
        : {
            [K in keyof A & keyof B & string]: Clashes<NonNullable<A[K]>, NonNullable<B[K]>, Path extends '' ? K : `${Path}.${K}`>;
          }[keyof A & keyof B & string];

/** Fields B always has that A lacks. */
type RequiredKeys<T> = { [K in keyof T]-?: Record<string, never> extends Pick<T, K> ? never : K }[keyof T];
type Missing<A, B, Except extends string = never> = Exclude<RequiredKeys<B>, keyof A | Except>;

/** Compiles only when the list is empty; the error names what is in it. */
type NoClashes<C extends never> = C;

export type Checked = [
  NoClashes<Clashes<ContainerSummary, Dockerode.ContainerInfo>>,
  NoClashes<Clashes<ContainerInspect, Dockerode.ContainerInspectInfo>>,
  NoClashes<Clashes<ImageSummary, Dockerode.ImageInfo>>,
  NoClashes<Clashes<ImageInspect, Dockerode.ImageInspectInfo>>,
  NoClashes<Clashes<ContainerCreateRequest, Dockerode.ContainerCreateOptions>>,
  NoClashes<Clashes<HostConfig, Dockerode.HostConfig>>,
  NoClashes<Missing<ContainerSummary, Dockerode.ContainerInfo>>,
  NoClashes<Missing<ContainerInspect, Dockerode.ContainerInspectInfo>>,
  NoClashes<Missing<ContainerInspect['State'], Dockerode.ContainerInspectInfo['State']>>,
  NoClashes<Missing<ContainerInspect['Config'], Dockerode.ContainerInspectInfo['Config']>>,
  NoClashes<Missing<ContainerInspect['NetworkSettings'], Dockerode.ContainerInspectInfo['NetworkSettings']>>,
  NoClashes<Missing<ImageSummary, Dockerode.ImageInfo>>,
  // API 1.45 dropped Container and ContainerConfig from image inspect; ctr speaks 1.47.
  NoClashes<Missing<ImageInspect, Dockerode.ImageInspectInfo, 'Container' | 'ContainerConfig'>>,
];

test('container, image and create shapes agree with @types/dockerode, field for field, and lack none it requires (checked by the compiler)', () => {
  const checked: Checked['length'] = 13;
  expect(checked).toBe(13);
});
