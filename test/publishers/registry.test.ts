import { readdirSync } from 'node:fs';
import path from 'node:path';
import { destinationTypes as lightTypes } from '../../publishers/destination-types.js';
import { destinationTypes, publishers } from '../../publishers/registry.js';
import { repoRoot } from '../support/cli.js';

// Adding a destination type is one file in publishers/ plus one line in the registry: this keeps them in step.
const NOT_TYPES = new Set(['registry.ts', 'destination-types.ts', 'http.ts', 'oci-registry.ts', 'docker-tags.ts']);

describe('publisher registry', () => {
  it('registers exactly one type per file in publishers/, named after it', () => {
    const all = readdirSync(path.join(repoRoot, 'publishers')).filter((f) => f.endsWith('.ts') && !NOT_TYPES.has(f));
    // `<type>-yank.ts` and `<type>-attestation.ts` hold one step of their type, whose file registers it.
    const steps = all.filter((f) => /-(yank|attestation)\.ts$/.test(f));
    const files = all.filter((f) => !steps.includes(f));
    expect([...publishers.keys()].sort()).toEqual(files.map((f) => f.replace(/\.ts$/, '')).sort());
    for (const step of steps) expect(publishers.has(step.replace(/-(yank|attestation)\.ts$/, ''))).toBe(true);
  });

  it('gives a yank step to every type with a <type>-yank.ts file', () => {
    const yankFiles = readdirSync(path.join(repoRoot, 'publishers')).filter((f) => f.endsWith('-yank.ts'));
    for (const f of yankFiles)
      expect({ type: f, yank: typeof publishers.get(f.replace(/-yank\.ts$/, ''))?.yank }).toEqual({ type: f, yank: 'function' });
  });

  it('gives every type a description, artifact kinds, an options schema and a publish function', () => {
    for (const p of publishers.values()) {
      expect(p.description.length).toBeGreaterThan(10);
      expect(p.artifacts.length).toBeGreaterThan(0);
      expect(typeof p.options.safeParse).toBe('function');
      expect(typeof p.publish).toBe('function');
    }
  });

  // The configuration validates with each type's <type>/options.ts (no publisher loaded): the same
  // schema object, artifacts and credential names as the publisher the release path runs.
  it("knows every publisher as a destination type, with the publisher's own option schema and artifacts", () => {
    expect([...lightTypes.keys()].sort()).toEqual([...publishers.keys()].sort());
    expect(destinationTypes).toBe(lightTypes);
    for (const p of publishers.values()) {
      const spec = lightTypes.get(p.type);
      expect({ type: p.type, options: spec?.options === p.options, artifacts: spec?.artifacts }).toEqual({
        type: p.type,
        options: true,
        artifacts: p.artifacts,
      });
      expect(typeof spec?.tools).toBe(typeof p.tools);
    }
  });
});
