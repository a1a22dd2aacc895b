/**
 * Make a busybox base image with no internet, using @ctr/image alone:
 * host /bin/busybox → root filesystem → single-layer image in an OCI layout →
 * list it → unpack it → save it as a `docker save` archive.
 *
 *   node examples/run.js import-busybox [output-dir]
 *
 * The output directory (a new temporary one by default) ends up holding `layout/` (an OCI
 * image layout skopeo and umoci read), `rootfs/` (the unpacked image) and `busybox.tar`
 * (loadable by `docker load` and by ctr).
 */
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import {
  applyLayer,
  createBusyboxRootfs,
  DEFAULT_PATH_ENV,
  imageGraph,
  importRootfs,
  OciLayout,
  saveArchive,
  shortId,
  type Digest,
} from '@ctr/image';

export interface ImportBusyboxResult {
  imageId: Digest;
  manifestDigest: Digest;
  layoutDir: string;
  rootfsDir: string;
  archive: string;
}

export async function main(args: string[] = [], log: (line: string) => void = console.log): Promise<ImportBusyboxResult> {
  const out = args[0] ?? (await mkdtemp(join(tmpdir(), 'ctr-import-busybox-')));
  await mkdir(out, { recursive: true });

  // 1. A root filesystem from the host's static busybox, in a scratch directory.
  const scratch = await mkdtemp(join(tmpdir(), 'ctr-busybox-rootfs-'));
  let imported;
  const layout = await OciLayout.open(join(out, 'layout'), { create: true });
  try {
    const { applets } = await createBusyboxRootfs(scratch);
    log(`root filesystem: busybox with ${applets.length} applets`);
    // 2. Import it as busybox:latest into an OCI layout (any BlobIngester would do: a store, a registry…).
    imported = await importRootfs(layout, { dir: scratch }, { config: { Cmd: ['sh'], Env: [DEFAULT_PATH_ENV] } });
    await layout.addImage(imported.manifest, 'busybox:latest');
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }

  // 3. List what the layout holds, as `docker images` would.
  for (const image of await layout.images()) {
    log(`${image.names.join(', ') || '<none>'}  ${shortId(image.descriptor.digest)}  ${image.descriptor.mediaType}`);
  }

  // 4. Unpack it: apply each layer, base first.
  const rootfsDir = join(out, 'rootfs');
  await mkdir(rootfsDir, { recursive: true });
  const manifest = await layout.resolve('busybox:latest');
  const [platformImage] = (await imageGraph(layout, manifest)).images;
  for (const layer of platformImage?.layers ?? []) await applyLayer(rootfsDir, await layout.read(layer.digest));
  log(`unpacked to ${rootfsDir}`);

  // 5. Save it as a docker archive.
  const archive = join(out, 'busybox.tar');
  await pipeline(saveArchive(layout, [{ descriptor: manifest, names: ['busybox:latest'] }]), createWriteStream(archive));
  log(`saved ${archive} (image ID ${imported.imageId})`);
  return { imageId: imported.imageId, manifestDigest: manifest.digest, layoutDir: layout.dir, rootfsDir, archive };
}
