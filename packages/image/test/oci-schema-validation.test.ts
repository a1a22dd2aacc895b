import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { isInvalidArgument } from '@ctr/errors';
import { digestOf, schemaProblems, validateOciDocument, type OciDocumentKind } from '@ctr/image';
import { ociSchemaFiles } from '../src/oci-schemas';
import { CONFORMANCE } from '../../../test/conformance';

const SPEC = `${CONFORMANCE}/oci-image-spec`;

interface Case {
  comment?: string;
  fail: boolean;
  document: string;
  digest?: string;
}
interface Group {
  validator: string;
  cases: Case[];
}
interface Vectors {
  groups: Record<string, Group>;
  backwardsCompatibility: Record<string, Group>;
}

const vectors = JSON.parse(readFileSync(join(SPEC, 'schema-test-vectors.json'), 'utf8')) as Vectors;

const KINDS: Record<string, OciDocumentKind> = {
  ValidatorMediaTypeManifest: 'manifest',
  ValidatorMediaTypeImageIndex: 'index',
  ValidatorMediaTypeImageConfig: 'config',
  ValidatorMediaTypeDescriptor: 'descriptor',
  ValidatorMediaTypeLayoutHeader: 'layout',
};

function kindOf(group: Group): OciDocumentKind {
  const kind = KINDS[group.validator];
  if (kind === undefined) throw new Error(`no kind for ${group.validator}`);
  return kind;
}

/** Upstream's backwards-compatibility test maps Docker media types to OCI ones before validating. */
function dockerToOci(text: string): string {
  return text
    .split('application/vnd.docker.distribution.manifest.list.v2+json').join('application/vnd.oci.image.index.v1+json')
    .split('application/vnd.docker.distribution.manifest.v2+json').join('application/vnd.oci.image.manifest.v1+json')
    .split('application/vnd.docker.image.rootfs.diff.tar.gzip').join('application/vnd.oci.image.layer.v1.tar+gzip')
    .split('application/vnd.docker.container.image.v1+json').join('application/vnd.oci.image.config.v1+json');
}

describe('OCI schema validation', () => {
  test('the embedded schemas equal the upstream schema files', () => {
    const files = readdirSync(join(SPEC, 'schema')).filter((name) => name.endsWith('.json')).sort();
    expect(Object.keys(ociSchemaFiles).sort()).toEqual(files);
    for (const file of files) {
      expect(ociSchemaFiles[file]).toEqual(JSON.parse(readFileSync(join(SPEC, 'schema', file), 'utf8')));
    }
  });

  for (const [name, group] of Object.entries(vectors.groups)) {
    group.cases.forEach((testCase, i) => {
      test(`${name} #${i}: ${testCase.comment ?? ''} → ${testCase.fail ? 'invalid' : 'valid'}`, () => {
        const problems = schemaProblems(kindOf(group), Buffer.from(testCase.document));
        if (testCase.fail) expect(problems).not.toEqual([]);
        else expect(problems).toEqual([]);
      });
    });
  }

  for (const [name, group] of Object.entries(vectors.backwardsCompatibility)) {
    group.cases.forEach((testCase, i) => {
      test(`${name} #${i}: Docker schema 2 document is valid once its media types are mapped to OCI`, () => {
        expect(digestOf(testCase.document)).toBe(testCase.digest);
        const problems = schemaProblems(kindOf(group), dockerToOci(testCase.document));
        expect(problems).toEqual([]);
      });
    });
  }

  test('validateOciDocument throws InvalidArgument naming the bad member', () => {
    const manifest = { schemaVersion: 2, config: { mediaType: 'a/b', size: '1', digest: digestOf('x') }, layers: [] };
    let error: unknown;
    try {
      validateOciDocument('manifest', manifest);
    } catch (caught) {
      error = caught;
    }
    expect(isInvalidArgument(error)).toBe(true);
    expect((error as Error).message).toContain('/config/size');
  });

  test('a document that is not JSON is reported, not thrown', () => {
    expect(schemaProblems('config', Buffer.from('{"os": '))).toHaveLength(1);
  });
});
