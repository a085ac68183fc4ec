import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { readGemPackage, specFields } from '../../src/artifact/gem-package.js';
import { assertHarmlessPublishConfig, readNpmTarball } from '../../src/artifact/npm-tarball.js';
import { ErrorCode } from '../../src/errors.js';
import { npmPack } from '../../dev/npm-pack.js';
import { requireBinary } from '../support/require-binary.js';
import { tarArchive, tarEntry } from '../support/tar-builder.js';
import { makeTmpDir } from '../support/tmp.js';

let tmp: ReturnType<typeof makeTmpDir>;
let n = 0;
beforeAll(() => (tmp = makeTmpDir('release-bot-manifests-')));
afterAll(() => tmp.cleanup());

const write = (bytes: Buffer, name = `f-${(n += 1)}`) => {
  const file = path.join(tmp.dir, name);
  writeFileSync(file, bytes);
  return file;
};
const refused = (message: RegExp) => ({ code: ErrorCode.BadInput, message: expect.stringMatching(message) });
const pkgJson = (fields: Record<string, unknown>) => JSON.stringify({ name: 'tiny-util', version: '1.0.0', ...fields });

describe('readNpmTarball', () => {
  test('a real npm pack: name, version, and the digests of the file', async () => {
    const packed = await npmPack(path.join(tmp.dir, 'packed'), { name: 'tiny-util', version: '1.2.3' });
    await expect(readNpmTarball(packed.file)).resolves.toEqual({
      name: 'tiny-util',
      version: '1.2.3',
      publishConfig: undefined,
      sha256: createHash('sha256').update(packed.bytes).digest('hex'),
      integrity: packed.integrity,
    });
  });

  test('two package.json candidates (the first checked, the last published by npm) are refused', async () => {
    const twice = gzipSync(
      tarArchive(
        tarEntry({ name: 'package/package.json', data: pkgJson({}) }),
        tarEntry({ name: 'package/package.json', data: pkgJson({ name: 'crown-jewel' }) }),
      ),
    );
    await expect(readNpmTarball(write(twice))).rejects.toMatchObject(refused(/appears twice/));
    // npm strips the first path step: other/package.json would become the manifest too.
    const elsewhere = gzipSync(
      tarArchive(
        tarEntry({ name: 'package/package.json', data: pkgJson({}) }),
        tarEntry({ name: 'other/package.json', data: pkgJson({ name: 'crown-jewel' }) }),
      ),
    );
    await expect(readNpmTarball(write(elsewhere))).rejects.toMatchObject(refused(/"other\/package.json" is not under package\//));
  });

  test('no manifest, a manifest that is no object, or without a string name and version, is refused', async () => {
    await expect(readNpmTarball(write(gzipSync(tarArchive(tarEntry({ name: 'package/index.js', data: '1' })))))).rejects.toMatchObject(
      refused(/no package\/package.json/),
    );
    await expect(
      readNpmTarball(write(gzipSync(tarArchive(tarEntry({ name: 'package/package.json', data: '[1]' }))))),
    ).rejects.toMatchObject(refused(/not a JSON object/));
    await expect(
      readNpmTarball(write(gzipSync(tarArchive(tarEntry({ name: 'package/package.json', data: '{"name":1}' }))))),
    ).rejects.toMatchObject(refused(/no string name and version/));
    await expect(
      readNpmTarball(write(gzipSync(tarArchive(tarEntry({ name: 'package/package.json', data: '{"name"' }))))),
    ).rejects.toMatchObject(refused(/not valid JSON/));
    await expect(readNpmTarball(write(Buffer.from('not gzip')))).rejects.toMatchObject(refused(/not a gzip-compressed tar archive/));
  });

  test('a gzip bomb stops at the unpacked cap', async () => {
    // 64 MiB of zeros in one entry compress to about 64 KiB; the reader stops at its cap (512 MiB by default, 1 MiB here).
    const bomb = gzipSync(tarArchive(tarEntry({ name: 'package/big', data: Buffer.alloc(64 << 20) })));
    expect(bomb.length).toBeLessThan(1 << 20);
    await expect(readNpmTarball(write(bomb), { maxBytes: 1 << 20 })).rejects.toMatchObject(refused(/larger than 1048576 bytes unpacked/));
  });
});

describe('assertHarmlessPublishConfig', () => {
  const registry = 'https://npm.example.com';
  test('access, tag and the destination registry (with or without its slash) pass', () => {
    expect(() => assertHarmlessPublishConfig(undefined, registry)).not.toThrow();
    expect(() =>
      assertHarmlessPublishConfig({ access: 'public', tag: 'next', registry: 'https://npm.example.com/' }, registry),
    ).not.toThrow();
  });
  test.each([
    [{ proxy: 'http://127.0.0.1:9' }, /"proxy"/],
    [{ 'https-proxy': 'http://127.0.0.1:9', 'strict-ssl': false }, /"https-proxy", "strict-ssl"/],
    [{ registry: 'https://evil.example/' }, /registry "https:\/\/evil.example\/"/],
    [{ '@acme:registry': 'https://evil.example/' }, /"@acme:registry"/],
    [{ '//npm.example.com/:_authToken': 'x' }, /"\/\/npm.example.com\/:_authToken"/],
    [{ cafile: '/tmp/evil.pem' }, /"cafile"/],
    [{ noproxy: '*' }, /"noproxy"/],
    [{ access: 'everyone' }, /"access"/],
  ])('%j is refused', (publishConfig, message) => {
    expect(() => assertHarmlessPublishConfig(publishConfig, registry)).toThrow(message);
  });
});

describe('readGemPackage', () => {
  function gemBuild(name: string, version: string, extra = ''): string {
    requireBinary('gem', 'ruby');
    const src = path.join(tmp.dir, `gem-${(n += 1)}`);
    mkdirSync(path.join(src, 'lib'), { recursive: true });
    writeFileSync(path.join(src, 'lib', 'x.rb'), 'module X; end\n');
    writeFileSync(
      path.join(src, 'x.gemspec'),
      `Gem::Specification.new do |s|\n  s.name = ${JSON.stringify(name)}\n  s.version = ${JSON.stringify(version)}\n  s.summary = 'x'\n  s.authors = ['x']\n  s.files = ['lib/x.rb']\n${extra}end\n`,
    );
    execFileSync('gem', ['build', 'x.gemspec'], { cwd: src, env: { PATH: process.env.PATH, HOME: src }, stdio: 'pipe' });
    return path.join(src, readdirSync(src).find((f) => f.endsWith('.gem')) as string);
  }

  test('a real gem build (with a dependency and a platform): name, version, platform and the sha256 of the file', async () => {
    const file = gemBuild('tiny-util', '2.1.0', "  s.add_dependency 'rake', '>= 0'\n  s.platform = 'x86_64-linux'\n");
    await expect(readGemPackage(file)).resolves.toEqual({
      name: 'tiny-util',
      version: '2.1.0',
      platform: 'x86_64-linux',
      sha256: createHash('sha256').update(readFileSync(file)).digest('hex'),
    });
    await expect(readGemPackage(gemBuild('plain', '1.0.0'))).resolves.toMatchObject({ name: 'plain', platform: 'ruby' });
  });

  const gem = (...entries: Buffer[]) => write(tarArchive(...entries));
  const metadata = (yaml: string) => tarEntry({ name: 'metadata.gz', data: gzipSync(yaml) });
  const spec = (name = 'tiny-util', version = '1.0.0') =>
    `--- !ruby/object:Gem::Specification\nname: ${name}\nversion: !ruby/object:Gem::Version\n  version: ${version}\nplatform: ruby\n`;

  test('two metadata.gz, an uncompressed metadata or any other entry is refused', async () => {
    await expect(readGemPackage(gem(metadata(spec()), metadata(spec('crown-jewel'))))).rejects.toMatchObject(refused(/appears twice/));
    await expect(readGemPackage(gem(metadata(spec()), tarEntry({ name: 'metadata', data: spec('crown-jewel') })))).rejects.toMatchObject(
      refused(/"metadata" is not part of a gem/),
    );
    await expect(readGemPackage(gem(tarEntry({ name: 'data.tar.gz', data: 'x' })))).rejects.toMatchObject(refused(/no metadata.gz/));
    await expect(readGemPackage(gem(tarEntry({ name: 'metadata.gz', data: 'not gzip' })))).rejects.toMatchObject(
      refused(/does not unpack/),
    );
  });

  test('YAML that Psych and this reader could read differently is refused', () => {
    expect(() => specFields(`${spec()}name: crown-jewel\n`)).toThrow(/not valid YAML/);
    expect(() =>
      specFields(
        '--- !ruby/object:Gem::Specification\nx: &a { name: crown-jewel }\nname: tiny-util\n<<: *a\nversion: !ruby/object:Gem::Version\n  version: 1.0.0\n',
      ),
    ).toThrow(/merge key/);
    expect(() => specFields(spec('yes'))).toThrow(/no plain string name/);
    expect(() => specFields(spec('!ruby/object:Foo x'))).toThrow(/no plain string name/);
    expect(() => specFields(spec('tiny-util', '1.0'))).toThrow(/no plain string version/);
    expect(() => specFields('--- !ruby/object:Gem::Specification\nname: x\nversion: 1.0.0\n')).toThrow(
      /no !ruby\/object:Gem::Version version/,
    );
    expect(() => specFields('--- {name: x}\n')).toThrow(/not a !ruby\/object:Gem::Specification/);
    expect(() => specFields(`${spec()}--- second\n`)).toThrow(/not valid YAML/);
    expect(() => specFields(spec().replace('platform: ruby', 'platform: "--host=evil"'))).toThrow(/not a platform/);
    expect(specFields(spec('tiny-util', "'1.0.0'"))).toEqual({ name: 'tiny-util', version: '1.0.0', platform: 'ruby' });
  });
});
