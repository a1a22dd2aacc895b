import type { Command } from '../command';
import { imageModule, registryModule } from '../context';
import { bool, str } from '../flags';
import { confirm } from '../prompt';
import { composeLibrary, composeRegistry, type ComposeSession } from './compose-cli';

/** docker compose's publish: the project's compose files pushed to a registry as an OCI artifact. */

function publish(session: ComposeSession): Command {
  return {
    name: 'publish',
    usage: '[OPTIONS] REPOSITORY[:TAG]',
    description: 'Publish compose application',
    flags: [
      { name: 'app', type: 'bool', description: 'Published compose application (includes referenced images)' },
      // Hidden in compose too: for tests against a plain-HTTP registry, not to be promoted.
      { name: 'insecure-registry', type: 'bool', description: 'Use insecure registry', hidden: true },
      { name: 'oci-version', type: 'string', description: 'OCI image/artifact specification version (automatically determined by default)' },
      { name: 'resolve-image-digests', type: 'bool', description: 'Pin image tags to digests' },
      { name: 'with-env', type: 'bool', description: 'Include environment variables in the published OCI artifact' },
      { name: 'yes', short: 'y', type: 'bool', description: 'Assume "yes" as answer to all prompts' },
    ],
    args: [1, 1],
    async run(args, io) {
      const [repository] = args.positionals as [string];
      const library = composeLibrary();
      const ociVersion = str(args, 'oci-version');
      const version = ociVersion === undefined || ociVersion === '' ? undefined : library.checkOciVersion(ociVersion);
      const project = await session.load();
      const insecure = bool(args, 'insecure-registry') ? [imageModule().parseNormalizedReference(repository).domain] : [];
      const client = new (registryModule().RegistryClient)(composeRegistry(io, insecure));
      // Only services with both `build:` and `image:` have images to push first; the others need no engine.
      const pushes = Object.values({ ...project.services, ...(project.disabled_services ?? {}) }).some((service) => service.build && service.image !== undefined);
      const engine = pushes ? await session.engine() : undefined;
      try {
        await session.withProgress((view) =>
          library.publish(project, repository, {
            client,
            ...(engine ? { engine } : {}),
            ...(version ? { ociVersion: version } : {}),
            withEnv: bool(args, 'with-env'),
            resolveImageDigests: bool(args, 'resolve-image-digests'),
            app: bool(args, 'app'),
            dryRun: session.globals.dryRun,
            confirm: bool(args, 'yes') ? () => Promise.resolve(true) : (question) => confirm(io, question),
            onProgress: view.update,
          }),
        );
      } catch (error) {
        // A question answered no: compose's ErrCanceled, which it ends with 130 and no message.
        if (library.isPublishCanceled(error)) return 130;
        throw error;
      } finally {
        await client.close();
      }
      return 0;
    },
  };
}

export function publishCommands(session: ComposeSession): Command[] {
  return [publish(session)];
}
