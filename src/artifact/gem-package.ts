import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { isAlias, isMap, isScalar, parseDocument, visit, type Node } from 'yaml';
import { ReleaseBotError } from '../errors.js';
import { clip } from '../validate.js';
import { readTar, tarRefused } from './tar-reader.js';

/** What a .gem says about itself (its metadata.gz), and its sha256, from one read of the file. */
export interface GemPackage {
  name: string;
  version: string;
  platform: string;
  sha256: string;
}

/**
 * What `gem build` puts into a .gem, and signatures of them. RubyGems also reads an uncompressed
 * `metadata` (rubygems/package.rb), so anything else is refused rather than guessed at.
 */
const ENTRIES = new Set(['metadata.gz', 'data.tar.gz', 'checksums.yaml.gz', 'metadata.gz.sig', 'data.tar.gz.sig', 'checksums.yaml.gz.sig']);
const SPEC_TAG = '!ruby/object:Gem::Specification';
const VERSION_TAG = '!ruby/object:Gem::Version';
const PLATFORM = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * Reads a .gem (a plain tar) the way RubyGems does: its `metadata.gz` is the specification, YAML with
 * Ruby tags. The tags are tolerated (only name, version and platform are read, as plain scalars);
 * merge keys are refused, since Psych lets `<<` override keys written before it where this parser would not.
 */
export async function readGemPackage(file: string): Promise<GemPackage> {
  const sha256 = createHash('sha256');
  const stream = createReadStream(file);
  let contents;
  try {
    contents = await readTar(hashing(stream, sha256), {
      capture: (p) => p === 'metadata.gz',
      extensions: false,
      limits: { maxEntries: 16 },
    });
  } catch (err) {
    if (err instanceof ReleaseBotError) throw err;
    throw tarRefused(`not a readable gem (${clip(err instanceof Error ? err.message : String(err), 120)})`);
  } finally {
    stream.destroy();
  }
  const odd = contents.entries.find((e) => e.type !== 'file' || !ENTRIES.has(e.path));
  if (odd) throw tarRefused(`${JSON.stringify(clip(odd.path, 120))} is not part of a gem (${[...ENTRIES].slice(0, 3).join(', ')})`);
  const gz = contents.files.get('metadata.gz');
  if (gz === undefined) throw tarRefused('no metadata.gz in the gem');
  let yamlText: string;
  try {
    yamlText = gunzipSync(gz, { maxOutputLength: 4 << 20 }).toString('utf8');
  } catch (err) {
    throw tarRefused(`metadata.gz does not unpack (${clip((err as Error).message, 80)}; at most 4 MiB)`);
  }
  return { ...specFields(yamlText), sha256: sha256.digest('hex') };
}

async function* hashing(chunks: AsyncIterable<Buffer>, hash: Hash): AsyncGenerator<Buffer> {
  for await (const chunk of chunks) {
    hash.update(chunk);
    yield chunk;
  }
}

/** name, version and platform of a Gem::Specification in YAML, each required to be a plain string. */
export function specFields(yamlText: string): Omit<GemPackage, 'sha256'> {
  // YAML 1.1, as Psych reads it: `yes` is a boolean there, so it must not pass as a string here.
  const doc = parseDocument(yamlText, { version: '1.1', uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) throw tarRefused(`metadata.gz is not valid YAML (${clip(doc.errors[0]?.message ?? '', 120)})`);
  let merges = false;
  // The yaml package resolves a `<<` key to a symbol under YAML 1.1; its source text is what Psych sees.
  visit(doc, {
    Pair: (_, pair) =>
      void (merges ||= isScalar(pair.key) && (pair.key.source === '<<' || pair.key.value === '<<' || typeof pair.key.value === 'symbol')),
  });
  if (merges) throw tarRefused('metadata.gz uses a YAML merge key (<<), which RubyGems and this check could read differently');
  const root = doc.contents;
  if (!isMap(root) || root.tag !== SPEC_TAG) throw tarRefused(`metadata.gz is not a ${SPEC_TAG}`);
  const plain = (node: unknown, what: string): string => {
    if (!isScalar(node) || isAlias(node) || node.tag !== undefined || typeof node.value !== 'string')
      throw tarRefused(`metadata.gz has no plain string ${what}`);
    return node.value;
  };
  const name = plain(root.get('name', true), 'name');
  const versionNode = root.get('version', true) as Node | undefined;
  if (!isMap(versionNode) || versionNode.tag !== VERSION_TAG) throw tarRefused(`metadata.gz has no ${VERSION_TAG} version`);
  const version = plain(versionNode.get('version', true), 'version');
  const platform = root.has('platform') ? plain(root.get('platform', true), 'platform') : 'ruby';
  if (!PLATFORM.test(platform))
    throw tarRefused(`metadata.gz names the platform ${JSON.stringify(clip(platform, 60))}, which is not a platform`);
  return { name, version, platform };
}
