import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { readTar } from '../../src/artifact/tar-reader.js';
import { ErrorCode } from '../../src/errors.js';
import { chunks, paxHeader, tarArchive, tarEntry } from '../support/tar-builder.js';
import { makeTmpDir } from '../support/tmp.js';

const read = (archive: Buffer, options: Parameters<typeof readTar>[1] = {}) => readTar(chunks(archive), options);
const refused = (message: RegExp) => ({
  code: ErrorCode.BadInput,
  details: { reason: 'bad-artifact' },
  message: expect.stringMatching(message),
});

describe('readTar reads what tar writers write', () => {
  test('a ustar archive made by GNU tar: entries normalized, captured content exact, across odd chunk sizes', async () => {
    const tmp = makeTmpDir('tar-reader-');
    try {
      const src = path.join(tmp.dir, 'src');
      mkdirSync(path.join(src, 'package', 'lib'), { recursive: true });
      writeFileSync(path.join(src, 'package', 'package.json'), '{"name":"x","version":"1.0.0"}');
      writeFileSync(path.join(src, 'package', 'lib', 'index.js'), 'module.exports = 1;\n'.repeat(100));
      execFileSync('tar', ['--format=ustar', '-cf', 'a.tar', 'package'], { cwd: src });
      const archive = readFileSync(path.join(src, 'a.tar'));
      for (const size of [1, 511, 512, 4096]) {
        const got = await readTar(chunks(archive, size), { capture: (p) => p === 'package/package.json' });
        expect(got.entries.map((e) => `${e.type} ${e.path}`).sort()).toEqual([
          'directory package',
          'directory package/lib',
          'file package/lib/index.js',
          'file package/package.json',
        ]);
        expect(got.files.get('package/package.json')?.toString()).toBe('{"name":"x","version":"1.0.0"}');
      }
    } finally {
      tmp.cleanup();
    }
  });

  test('long names: ustar prefix, pax path and GNU long name are all read as the full path', async () => {
    const long = `package/${'d'.repeat(120)}/file.js`;
    const archive = tarArchive(
      tarEntry({ name: 'file-a.js', prefix: `package/${'p'.repeat(100)}`, data: 'a' }),
      paxHeader({ path: long }),
      tarEntry({ name: 'truncated-name', data: 'b' }),
      tarEntry({ name: '././@LongLink', type: 'L', data: `package/${'g'.repeat(150)}\0` }),
      tarEntry({ name: 'cut', data: 'c' }),
    );
    const got = await read(archive, { capture: () => true });
    expect(got.entries.map((e) => e.path)).toEqual([`package/${'p'.repeat(100)}/file-a.js`, long, `package/${'g'.repeat(150)}`]);
    expect(got.files.get(long)?.toString()).toBe('b');
  });

  test('a pax size overrides the header size, as node-tar reads it', async () => {
    const archive = tarArchive(paxHeader({ size: '3' }), tarEntry({ name: 'package/a', data: 'abc', sizeField: '00000000000\0' }));
    await expect(read(archive, { capture: () => true })).resolves.toMatchObject({ entries: [{ path: 'package/a', size: 3 }] });
  });

  test('the ustar prefix of a GNU-magic header is not a prefix (it holds times there)', async () => {
    const got = await read(tarArchive(tarEntry({ name: 'package/a', magic: 'gnu', prefix: '0123', data: 'x' })));
    expect(got.entries[0]?.path).toBe('package/a');
  });
});

describe('readTar refuses hostile archives', () => {
  test.each([
    ['an absolute path', tarEntry({ name: '/etc/passwd', data: 'x' }), /absolute path/],
    ['a drive letter', tarEntry({ name: 'C:/x', data: 'x' }), /absolute path/],
    ['a climb out with ..', tarEntry({ name: 'package/../../etc/cron.d/x', data: 'x' }), /climbs out/],
    ['a pax path that climbs out', Buffer.concat([paxHeader({ path: '../x' }), tarEntry({ name: 'harmless', data: 'x' })]), /climbs out/],
    ['a backslash', tarEntry({ name: 'package\\..\\x', data: 'x' }), /backslash/],
    [
      'a symbolic link',
      tarEntry({ name: 'package/package.json', type: '2', linkname: '/etc/passwd' }),
      /symbolic link: only regular files and directories/,
    ],
    ['a hard link', tarEntry({ name: 'package/package.json', type: '1', linkname: 'package/other.json' }), /hard link/],
    ['a device', tarEntry({ name: 'package/dev', type: '3' }), /character device/],
    ['a pax linkpath', Buffer.concat([paxHeader({ linkpath: '/etc/passwd' }), tarEntry({ name: 'package/a', data: 'x' })]), /linkpath/],
    [
      'a global pax header',
      Buffer.concat([paxHeader({ path: 'package/package.json' }, 'g'), tarEntry({ name: 'package/a', data: 'x' })]),
      /global pax header/,
    ],
    [
      'a GNU long link name',
      Buffer.concat([tarEntry({ name: '././@LongLink', type: 'K', data: 'x' }), tarEntry({ name: 'package/a', data: 'x' })]),
      /long link/,
    ],
    [
      'two long names for one entry',
      Buffer.concat([
        paxHeader({ path: 'package/a' }),
        tarEntry({ name: '././@LongLink', type: 'L', data: 'package/b' }),
        tarEntry({ name: 'c', data: 'x' }),
      ]),
      /extended header follows|two long names/,
    ],
    [
      'a malformed pax record',
      Buffer.concat([tarEntry({ name: 'PaxHeader', type: 'x', data: '99 path=x\n' }), tarEntry({ name: 'a', data: 'x' })]),
      /malformed pax/,
    ],
    ['a bad header checksum', tarEntry({ name: 'package/a', data: 'x', checksumDelta: 1 }), /checksum does not match/],
    ['a size that is not octal', tarEntry({ name: 'package/a', data: 'x', sizeField: '0000000009x\0' }), /not octal/],
    ['a base-256 size', tarEntry({ name: 'package/a', sizeField: '\x80\0\0\0\0\0\0\0\0\0\0\x01' }), /base-256/],
    ['a file name ending in /', tarEntry({ name: 'package/package.json/', data: '{}' }), /ends with "\/"/],
  ])('%s', async (_what, entry, message) => {
    await expect(read(tarArchive(entry))).rejects.toMatchObject(refused(message));
  });

  test('the same path twice is refused, also when spelled differently (./, //, trailing /)', async () => {
    const json = (name: string) => JSON.stringify({ name, version: '1.0.0' });
    for (const second of ['package/package.json', './package/package.json', 'package//package.json', 'package/./package.json']) {
      const archive = tarArchive(
        tarEntry({ name: 'package/package.json', data: json('tiny-util') }),
        tarEntry({ name: second, data: json('crown-jewel') }),
      );
      await expect(read(archive)).rejects.toMatchObject(refused(/appears twice in the archive/));
    }
    await expect(
      read(tarArchive(tarEntry({ name: 'package/', type: '5' }), tarEntry({ name: 'package', type: '5' }))),
    ).rejects.toMatchObject(refused(/appears twice/));
  });

  test('anything after the end-of-archive marker is refused: another reader might go on past it', async () => {
    const archive = Buffer.concat([
      tarEntry({ name: 'package/package.json', data: '{}' }),
      Buffer.alloc(512),
      tarEntry({ name: 'package/package.json', data: '{"x":1}' }),
      Buffer.alloc(1024),
    ]);
    await expect(read(archive)).rejects.toMatchObject(refused(/data after the end-of-archive marker/));
  });

  test('truncated archives are refused: inside an entry, without the end marker, right after an extended header', async () => {
    const whole = tarEntry({ name: 'package/a', data: 'x'.repeat(2000) });
    await expect(read(whole.subarray(0, 1000))).rejects.toMatchObject(refused(/ends inside an entry/));
    await expect(read(whole)).rejects.toMatchObject(refused(/without its end-of-archive marker/));
    await expect(read(tarArchive(paxHeader({ path: 'package/a' })))).rejects.toMatchObject(refused(/right after an extended header/));
    await expect(read(Buffer.from('not a tar archive at all'))).rejects.toMatchObject(refused(/without its end-of-archive marker/));
    await expect(read(Buffer.alloc(512, 'x'))).rejects.toMatchObject(refused(/without a valid checksum/));
  });

  test('caps: entries, unpacked bytes, captured entry size, extended header size', async () => {
    const many = tarArchive(...Array.from({ length: 5 }, (_, i) => tarEntry({ name: `package/f${i}`, data: 'x' })));
    await expect(read(many, { limits: { maxEntries: 4 } })).rejects.toMatchObject(refused(/more than 4 entries/));
    const big = tarArchive(tarEntry({ name: 'package/big', data: Buffer.alloc(100_000) }));
    await expect(read(big, { limits: { maxBytes: 50_000 } })).rejects.toMatchObject(refused(/larger than 50000 bytes unpacked/));
    await expect(read(big, { capture: () => true, limits: { maxCaptureBytes: 1000 } })).rejects.toMatchObject(
      refused(/more than the 1000 read from it/),
    );
    const longPax = tarArchive(paxHeader({ path: `package/${'a'.repeat(5000)}` }), tarEntry({ name: 'x', data: 'x' }));
    await expect(read(longPax, { limits: { maxHeaderBytes: 1024 } })).rejects.toMatchObject(refused(/extended header of \d+ bytes/));
  });

  test('without extensions (RubyGems): pax headers, GNU long names and a ustar prefix are refused', async () => {
    await expect(
      read(tarArchive(paxHeader({ path: 'metadata.gz' }), tarEntry({ name: 'other', data: 'x' })), { extensions: false }),
    ).rejects.toMatchObject(refused(/only plain ustar headers/));
    await expect(
      read(tarArchive(tarEntry({ name: '././@LongLink', type: 'L', data: 'metadata.gz' }), tarEntry({ name: 'x', data: 'x' })), {
        extensions: false,
      }),
    ).rejects.toMatchObject(refused(/only plain ustar headers/));
    await expect(read(tarArchive(tarEntry({ name: 'gz', prefix: 'metadata.', data: 'x' })), { extensions: false })).rejects.toMatchObject(
      refused(/ustar prefix where none is expected/),
    );
    await expect(
      read(tarArchive(tarEntry({ name: 'gz', magic: 'gnu', prefix: 'metadata.', data: 'x' })), { extensions: false }),
    ).rejects.toMatchObject(refused(/ustar prefix/));
  });
});
