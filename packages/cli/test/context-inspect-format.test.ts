import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanEnv, ctr as run, type Result } from './remote-fixture';

/**
 * `ctr context inspect --format` sees what `docker context inspect --format` does: docker's
 * contextWithTLSListing, a store.Metadata embedded. Every expectation here is docker 28.2's
 * output for the same contexts (`foo` made with `--description hi --docker
 * host=unix:///tmp/x.sock`, `tls` with a CA, certificate and key), its config directory
 * in place of ours.
 */

let work: string;
let config: string;

function ctr(args: string[]): Promise<Result> {
  return run(args, { env: cleanEnv({ CTR_CONFIG: config }) });
}

function inspect(name: string, format: string): Promise<Result> {
  return ctr(['context', 'inspect', name, '--format', format]);
}

/** Where docker's layout keeps a context's metadata and TLS files: the sha256 of its name. */
function storage(name: string): { meta: string; tls: string } {
  const id = createHash('sha256').update(name).digest('hex');
  return { meta: join(config, 'contexts', 'meta', id), tls: join(config, 'contexts', 'tls', id) };
}

/** What docker prints of a template that fails: nothing but a newline, the error, exit status 1. */
function failure(message: string): Result {
  return { code: 1, stdout: '\n', stderr: `template parsing error: ${message}\n` };
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'ctr-context-format-'));
  config = join(work, 'config');
  const pem = join(work, 'file.pem');
  await writeFile(pem, '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n');
  expect((await ctr(['context', 'create', 'foo', '--description', 'hi', '--docker', 'host=unix:///tmp/x.sock'])).code).toBe(0);
  expect((await ctr(['context', 'create', 'tls', '--docker', `host=tcp://127.0.0.1:2376,ca=${pem},cert=${pem},key=${pem}`])).code).toBe(0);
});

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

test('{{json .Metadata}} is the embedded store.Metadata, not the description map', async () => {
  expect((await inspect('foo', '{{json .Metadata}}')).stdout).toBe('{"Name":"foo","Metadata":{"Description":"hi"},"Endpoints":{"docker":{"Host":"unix:///tmp/x.sock","SkipTLSVerify":false}}}\n');
});

test('.Metadata.Name, .Metadata.Metadata.Description and .Metadata.Endpoints reach into store.Metadata', async () => {
  expect((await inspect('foo', '{{.Metadata.Name}}|{{.Metadata.Metadata.Description}}|{{.Metadata.Endpoints.docker.Host}}')).stdout).toBe('foo|hi|unix:///tmp/x.sock\n');
});

test('.Name and .Endpoints are the embedded struct promoted fields', async () => {
  expect((await inspect('foo', '{{.Name}}|{{json .Endpoints}}|{{.Endpoints.docker.Host}}')).stdout).toBe('foo|{"docker":{"Host":"unix:///tmp/x.sock","SkipTLSVerify":false}}|unix:///tmp/x.sock\n');
});

test('.Metadata.Description is an error: store.Metadata has no such field', async () => {
  expect(await inspect('foo', '{{.Metadata.Description}}')).toEqual(
    failure('template: :1:11: executing "" at <.Metadata.Description>: can\'t evaluate field Description in type store.Metadata'),
  );
});

test('a field the listing lacks is an error naming context.contextWithTLSListing, not <no value>', async () => {
  expect(await inspect('foo', '{{.Nope}}')).toEqual(failure('template: :1:2: executing "" at <.Nope>: can\'t evaluate field Nope in type context.contextWithTLSListing'));
});

test('a field Storage lacks is an error naming store.StorageInfo', async () => {
  expect(await inspect('foo', '{{.Storage.Nope}}')).toEqual(failure('template: :1:10: executing "" at <.Storage.Nope>: can\'t evaluate field Nope in type store.StorageInfo'));
});

test('an endpoint and the DockerContext are held as interface{}, which the error names', async () => {
  expect(await inspect('foo', '{{.Endpoints.docker.Nope}}')).toEqual(
    failure('template: :1:12: executing "" at <.Endpoints.docker.Nope>: can\'t evaluate field Nope in type interface {}'),
  );
  expect(await inspect('foo', '{{.Metadata.Metadata.Nope}}')).toEqual(
    failure('template: :1:11: executing "" at <.Metadata.Metadata.Nope>: can\'t evaluate field Nope in type interface {}'),
  );
});

test('a key a map lacks is <no value>', async () => {
  expect((await inspect('foo', '{{.Endpoints.nope}}|{{.TLSMaterial.nope}}|{{.TLSMaterial.docker.Nope}}')).stdout).toBe('<no value>|<no value>|<no value>\n');
});

test('{{.Metadata}} and printf %v print store.Metadata as a Go struct', async () => {
  const struct = '{foo {hi map[]} map[docker:{unix:///tmp/x.sock false}]}';
  expect((await inspect('foo', '{{.Metadata}}')).stdout).toBe(`${struct}\n`);
  expect((await inspect('foo', '{{printf "%v" .Metadata}}')).stdout).toBe(`${struct}\n`);
});

test('printf %+v names the struct fields, %s applies to each of them', async () => {
  expect((await inspect('foo', '{{printf "%+v" .Metadata}}')).stdout).toBe(
    '{Name:foo Metadata:{Description:hi AdditionalFields:map[]} Endpoints:map[docker:{Host:unix:///tmp/x.sock SkipTLSVerify:false}]}\n',
  );
  expect((await inspect('foo', '{{printf "%s" .Metadata}}')).stdout).toBe('{foo {hi map[]} map[docker:{unix:///tmp/x.sock %!s(bool=false)}]}\n');
});

test('{{.}} prints the listing with store.Metadata embedded as its first field', async () => {
  const { meta, tls } = storage('foo');
  expect((await inspect('foo', '{{.}}')).stdout).toBe(`{{foo {hi map[]} map[docker:{unix:///tmp/x.sock false}]} map[] {${meta} ${tls}}}\n`);
});

test('{{json .}} flattens the embedded store.Metadata', async () => {
  const { meta, tls } = storage('foo');
  expect((await inspect('foo', '{{json .}}')).stdout).toBe(
    `{"Name":"foo","Metadata":{"Description":"hi"},"Endpoints":{"docker":{"Host":"unix:///tmp/x.sock","SkipTLSVerify":false}},"TLSMaterial":{},"Storage":{"MetadataPath":"${meta}","TLSPath":"${tls}"}}\n`,
  );
});

test('a context without a description prints an empty Description and marshals no key', async () => {
  expect((await inspect('tls', '{{.Metadata.Metadata}}|{{json .Metadata.Metadata}}')).stdout).toBe('{ map[]}|{}\n');
});

test('TLS material is a map of store.EndpointFiles, printed as a list', async () => {
  expect((await inspect('tls', '{{json .TLSMaterial}}|{{.TLSMaterial}}')).stdout).toBe('{"docker":["ca.pem","cert.pem","key.pem"]}|map[docker:[ca.pem cert.pem key.pem]]\n');
  expect(await inspect('tls', '{{.TLSMaterial.docker.Nope}}')).toEqual(
    failure('template: :1:14: executing "" at <.TLSMaterial.docker.Nope>: can\'t evaluate field Nope in type store.EndpointFiles'),
  );
});

test('{{.}} of a context with TLS material lists its files', async () => {
  const { meta, tls } = storage('tls');
  expect((await inspect('tls', '{{.}}')).stdout).toBe(`{{tls { map[]} map[docker:{tcp://127.0.0.1:2376 false}]} map[docker:[ca.pem cert.pem key.pem]] {${meta} ${tls}}}\n`);
});

test('Storage prints as a struct; print and println print structs as %v does', async () => {
  const { meta, tls } = storage('foo');
  expect((await inspect('foo', '{{.Storage}}|{{print .Metadata.Metadata 1}}|{{println .Storage}}')).stdout).toBe(`{${meta} ${tls}}|{hi map[]} 1|{${meta} ${tls}}\n\n`);
});

test('range over a struct is an error that prints it as one', async () => {
  expect(await inspect('foo', '{{range .Metadata}}x{{end}}')).toEqual(
    failure('template: :1:8: executing "" at <.Metadata>: range can\'t iterate over {foo {hi map[]} map[docker:{unix:///tmp/x.sock false}]}'),
  );
});

test('the default context has the same shape, its storage in memory', async () => {
  expect((await inspect('default', '{{.Storage}}|{{json .TLSMaterial}}|{{.Metadata.Name}}')).stdout).toBe('{<IN MEMORY> <IN MEMORY>}|{}|default\n');
  expect(await inspect('default', '{{.Metadata.Description}}')).toEqual(
    failure('template: :1:11: executing "" at <.Metadata.Description>: can\'t evaluate field Description in type store.Metadata'),
  );
});

test('without --format the JSON is unchanged: the embedded struct flattened, indented', async () => {
  const { meta, tls } = storage('tls');
  expect(JSON.parse((await ctr(['context', 'inspect', 'tls'])).stdout)).toEqual([
    {
      Name: 'tls',
      Metadata: {},
      Endpoints: { docker: { Host: 'tcp://127.0.0.1:2376', SkipTLSVerify: false } },
      TLSMaterial: { docker: ['ca.pem', 'cert.pem', 'key.pem'] },
      Storage: { MetadataPath: meta, TLSPath: tls },
    },
  ]);
});
