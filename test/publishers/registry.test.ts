import { readdirSync } from 'node:fs';
import path from 'node:path';
import { publishers } from '../../publishers/registry.js';
import { repoRoot } from '../support/cli.js';

// Adding a destination type is one file in publishers/ plus one line in the registry: this keeps them in step.
const NOT_TYPES = new Set(['registry.ts', 'http.ts', 'oci-registry.ts']);

describe('publisher registry', () => {
  it('registers exactly one type per file in publishers/, named after it', () => {
    const all = readdirSync(path.join(repoRoot, 'publishers')).filter((f) => f.endsWith('.ts') && !NOT_TYPES.has(f));
    // `<type>-<part>.ts` (docker-yank.ts, docker-attestation.ts) is a part of the type in `<type>.ts`.
    const files = all.filter((f) => !all.some((t) => f.startsWith(`${t.replace(/\.ts$/, '')}-`)));
    expect([...publishers.keys()].sort()).toEqual(files.map((f) => f.replace(/\.ts$/, '')).sort());
  });

  it('gives every type a description, artifact kinds, an options schema and a publish function', () => {
    for (const p of publishers.values()) {
      expect(p.description.length).toBeGreaterThan(10);
      expect(p.artifacts.length).toBeGreaterThan(0);
      expect(typeof p.options.safeParse).toBe('function');
      expect(typeof p.publish).toBe('function');
    }
  });
});
