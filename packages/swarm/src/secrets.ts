import path from 'node:path';
import { checkFilterKeys } from '@ctr/engine';
import { invalidArgument, notFound, unsupported } from '@ctr/errors';
import type { SwarmContext } from './context';
import { newId } from './ids';
import { findObject, labelsMatch, prefixMatch, rpcError } from './store';
import type { Config, ConfigReference, ConfigSpec, Secret, SecretReference, SecretSpec, Service, SwarmFilters, Task } from './types';

/**
 * Secrets and configs are one kind of object twice over (swarmkit's controlapi/secret.go and
 * config.go): a name, labels and data that tasks get as files. What differs is below.
 */
interface Kind {
  store: 'secrets' | 'configs';
  noun: 'secret' | 'config';
  /** swarmkit's MaxSecretSize / MaxConfigSize: the data must be shorter. */
  maxSize: number;
  /** Where a relative target lands in the container (moby's containerSecretMountPath / containerConfigMountPath). */
  mountDir: string;
  /** The listing's filters (moby's newListSecretsFilters / newListConfigsFilters). */
  filters: readonly string[];
  /** The services that refer to an object of the kind. */
  references: (service: Service) => Array<{ id: string }>;
}

const SECRETS: Kind = {
  store: 'secrets',
  noun: 'secret',
  maxSize: 500 * 1024,
  mountDir: '/run/secrets',
  filters: ['names', 'name', 'id', 'label'],
  references: (service) => (service.Spec.TaskTemplate.ContainerSpec?.Secrets ?? []).map((r) => ({ id: r.SecretID })),
};

const CONFIGS: Kind = {
  store: 'configs',
  noun: 'config',
  maxSize: 1000 * 1024,
  mountDir: '/',
  filters: ['name', 'id', 'label'],
  references: (service) => (service.Spec.TaskTemplate.ContainerSpec?.Configs ?? []).map((r) => ({ id: r.ConfigID })),
};

/** swarmkit's isValidConfigOrSecretName. */
const VALID_NAME = /^[a-zA-Z0-9]+(?:[a-zA-Z0-9-_.]*[a-zA-Z0-9])?$/;

type Stored = Secret | Config;

/** The spec's checks, as swarmkit's validateSecretSpec / validateConfigSpec make them; the data decoded. */
function validate(kind: Kind, spec: SecretSpec | ConfigSpec): Buffer {
  if (!spec.Name) throw rpcError('InvalidArgument', 'InvalidArgument', 'name must be provided');
  if (spec.Name.length > 64 || !VALID_NAME.test(spec.Name)) {
    throw rpcError('InvalidArgument', 'InvalidArgument', 'invalid name, only 64 [a-zA-Z0-9-_.] characters allowed, and the start and end character must be [a-zA-Z0-9]');
  }
  if ('Driver' in spec && spec.Driver) throw unsupported(`ctr does not support ${kind.noun} drivers (${spec.Driver.Name}): give the ${kind.noun}'s data instead`);
  if (spec.Templating) throw unsupported(`ctr does not support templated ${kind.noun}s (${spec.Templating.Name}): give the ${kind.noun}'s data as it is`);
  const data = Buffer.from(spec.Data ?? '', 'base64');
  if (data.length < 1 || data.length >= kind.maxSize) {
    throw rpcError('InvalidArgument', 'InvalidArgument', `${kind.noun} data must be larger than 0 and less than ${kind.maxSize} bytes`);
  }
  return data;
}

async function create(ctx: SwarmContext, kind: Kind, spec: SecretSpec | ConfigSpec): Promise<{ ID: string }> {
  const data = validate(kind, spec);
  return ctx.store.transaction((tx) => {
    if (tx.list(kind.store).some((o) => o.Spec.Name === spec.Name)) {
      throw rpcError('AlreadyExists', 'AlreadyExists', `${kind.noun} ${spec.Name} already exists`);
    }
    const object = tx.create(kind.store, {
      ID: newId(),
      Spec: { Name: spec.Name, Labels: spec.Labels ?? {}, Data: data.toString('base64') },
    });
    return { ID: object.ID };
  });
}

/** swarmkit's ListSecrets / ListConfigs: names, name prefixes and ID prefixes are alternatives; labels all hold. */
async function list(ctx: SwarmContext, kind: Kind, filters: SwarmFilters): Promise<Stored[]> {
  checkFilterKeys(filters, kind.filters);
  const alternatives = [...(filters.names ?? []), ...(filters.name ?? []), ...(filters.id ?? [])];
  return (await ctx.store.list(kind.store)).filter(
    (o) =>
      (alternatives.length === 0 ||
        (filters.names ?? []).includes(o.Spec.Name) ||
        ((filters.name ?? []).length > 0 && prefixMatch(filters.name, o.Spec.Name)) ||
        ((filters.id ?? []).length > 0 && prefixMatch(filters.id, o.ID))) &&
      labelsMatch(filters.label, o.Spec.Labels),
  );
}

async function find(ctx: SwarmContext, kind: Kind, id: string): Promise<Stored> {
  return findObject(await ctx.store.list(kind.store), id, kind.noun, (o) => o.Spec.Name);
}

/** swarmkit's Update{Secret,Config}: only the labels may change. */
async function update(ctx: SwarmContext, kind: Kind, id: string, version: number, spec: SecretSpec | ConfigSpec): Promise<void> {
  const found = await find(ctx, kind, id);
  await ctx.store.transaction((tx) => {
    const current = tx.get(kind.store, found.ID);
    if (!current) throw rpcError('NotFound', 'NotFound', `${kind.noun} ${found.ID} not found`);
    const dataChanged = spec.Data !== undefined && spec.Data !== '' && !Buffer.from(spec.Data, 'base64').equals(Buffer.from(current.Spec.Data ?? '', 'base64'));
    if (current.Spec.Name !== spec.Name || dataChanged) throw rpcError('InvalidArgument', 'InvalidArgument', 'only updates to Labels are allowed');
    tx.update(kind.store, { ...current, Spec: { ...current.Spec, Labels: spec.Labels ?? {} } }, version);
  });
}

/** swarmkit's Remove{Secret,Config}: refused while a service refers to it. */
async function remove(ctx: SwarmContext, kind: Kind, id: string): Promise<void> {
  const found = await find(ctx, kind, id);
  await ctx.store.transaction((tx) => {
    const users = tx.list('services').filter((s) => kind.references(s).some((r) => r.id === found.ID));
    if (users.length > 0) {
      const names = users.map((s) => s.Spec.Name).join(', ');
      throw rpcError('InvalidArgument', 'InvalidArgument', `${kind.noun} '${found.Spec.Name}' is in use by the following ${users.length === 1 ? 'service' : 'services'}: ${names}`);
    }
    if (!tx.get(kind.store, found.ID)) throw notFound(`${kind.noun} ${id} not found`);
    tx.delete(kind.store, found.ID);
  });
}

/** A secret as the API shows it: never its data. */
function withoutData(secret: Secret): Secret {
  const { Data: _data, ...spec } = secret.Spec;
  return { ...secret, Spec: spec };
}

// ---------------------------------------------------------------- secrets

export async function createSecret(ctx: SwarmContext, spec: SecretSpec): Promise<{ ID: string }> {
  return create(ctx, SECRETS, spec);
}

export async function listSecrets(ctx: SwarmContext, filters: SwarmFilters = {}): Promise<Secret[]> {
  return ((await list(ctx, SECRETS, filters)) as Secret[]).map(withoutData);
}

export async function inspectSecret(ctx: SwarmContext, id: string): Promise<Secret> {
  return withoutData((await find(ctx, SECRETS, id)) as Secret);
}

export async function updateSecret(ctx: SwarmContext, id: string, version: number, spec: SecretSpec): Promise<void> {
  await update(ctx, SECRETS, id, version, spec);
}

export async function removeSecret(ctx: SwarmContext, id: string): Promise<void> {
  await remove(ctx, SECRETS, id);
}

// ---------------------------------------------------------------- configs

export async function createConfig(ctx: SwarmContext, spec: ConfigSpec): Promise<{ ID: string }> {
  return create(ctx, CONFIGS, spec);
}

export async function listConfigs(ctx: SwarmContext, filters: SwarmFilters = {}): Promise<Config[]> {
  return (await list(ctx, CONFIGS, filters)) as Config[];
}

export async function inspectConfig(ctx: SwarmContext, id: string): Promise<Config> {
  return (await find(ctx, CONFIGS, id)) as Config;
}

export async function updateConfig(ctx: SwarmContext, id: string, version: number, spec: ConfigSpec): Promise<void> {
  await update(ctx, CONFIGS, id, version, spec);
}

export async function removeConfig(ctx: SwarmContext, id: string): Promise<void> {
  await remove(ctx, CONFIGS, id);
}

// ---------------------------------------------------------------- what a task gets

/** A file a task's container gets: its absolute path inside the container, its bytes and owner. */
export interface TaskFile {
  /** The secret's or config's name. */
  name: string;
  target: string;
  data: Buffer;
  uid: string;
  gid: string;
  mode: number;
}

type Reference = { id: string; name: string; file: SecretReference['File'] };

/** A task's references as swarmkit reads them: a reference without File (and not Runtime) is a file named for it, 0444. */
const secretRefs = (refs: readonly SecretReference[]): Reference[] =>
  refs.map((r) => ({ id: r.SecretID, name: r.SecretName, file: r.File ?? (r.Runtime ? undefined : { Name: r.SecretName, UID: '0', GID: '0', Mode: 0o444 }) }));
const configRefs = (refs: readonly ConfigReference[]): Reference[] =>
  refs.map((r) => ({ id: r.ConfigID, name: r.ConfigName, file: r.File ?? (r.Runtime ? undefined : { Name: r.ConfigName, UID: '0', GID: '0', Mode: 0o444 }) }));

/** The files, from the objects given (the store's on a manager, the assignments' on a worker). */
function taskFiles(kind: Kind, objects: readonly Stored[], refs: readonly Reference[]): TaskFile[] {
  const files: TaskFile[] = [];
  for (const ref of refs) {
    // A config given to the runtime (a credential spec) is not a file.
    if (!ref.file) continue;
    const object = objects.find((o) => o.ID === ref.id);
    if (!object) throw notFound(`${kind.noun} ${ref.id} not found`);
    const target = ref.file.Name || ref.name;
    if (target.split('/').includes('..')) throw invalidArgument(`${kind.noun} ${ref.name}: target ${target} leaves ${kind.mountDir}`);
    files.push({
      name: object.Spec.Name,
      target: path.posix.isAbsolute(target) ? target : path.posix.join(kind.mountDir, target),
      data: Buffer.from(object.Spec.Data ?? '', 'base64'),
      uid: ref.file.UID || '0',
      gid: ref.file.GID || '0',
      mode: ref.file.Mode || 0o444,
    });
  }
  return files;
}

/** The objects `refs` name, read from the store. */
async function referenced(ctx: SwarmContext, kind: Kind, refs: readonly Reference[]): Promise<Stored[]> {
  const objects = await Promise.all(refs.map((r) => ctx.store.get(kind.store, r.id)));
  return objects.filter((o): o is Stored => o !== undefined);
}

/** The files of a task's secrets: `/run/secrets/<name>` unless the reference names another target. */
export async function secretFiles(ctx: SwarmContext, refs: readonly SecretReference[] = []): Promise<TaskFile[]> {
  const wanted = secretRefs(refs);
  return taskFiles(SECRETS, await referenced(ctx, SECRETS, wanted), wanted);
}

/** The files of a task's configs: `/<name>` unless the reference names another target. */
export async function configFiles(ctx: SwarmContext, refs: readonly ConfigReference[] = []): Promise<TaskFile[]> {
  const wanted = configRefs(refs);
  return taskFiles(CONFIGS, await referenced(ctx, CONFIGS, wanted), wanted);
}

/** A task's secret and config files from the objects a worker was given with its assignments (data included). */
export function taskFilesFrom(objects: { secrets: readonly Secret[]; configs: readonly Config[] }, refs: { secrets?: readonly SecretReference[]; configs?: readonly ConfigReference[] }): TaskFile[] {
  return [...taskFiles(SECRETS, objects.secrets, secretRefs(refs.secrets ?? [])), ...taskFiles(CONFIGS, objects.configs, configRefs(refs.configs ?? []))];
}

/** The IDs of the secrets and configs a task refers to (what the dispatcher sends a worker with it). */
export function taskReferences(task: Pick<Task, 'Spec'>): { secrets: string[]; configs: string[] } {
  const spec = task.Spec.ContainerSpec;
  return { secrets: (spec?.Secrets ?? []).map((r) => r.SecretID), configs: (spec?.Configs ?? []).map((r) => r.ConfigID) };
}
