#!/usr/bin/env node
/**
 * Joins the compiled notify (dist/handlers/cli/notify/main.mjs and the modules it imports) into one file,
 * dist/handlers/cli/release-bot-notify.mjs, which Jenkins agents run with Node alone. Run by `npm run build` after
 * tsc, and by scripts/package.mjs.
 *
 * Not a text concatenation: every module is parsed (TypeScript's parser, already a devDependency); an
 * import of a sibling module is dropped (its declarations sit in the same file), `node:` imports are
 * merged, and anything the join cannot keep equal refuses the build: another kind of import, a renamed or
 * namespace import of a sibling, two top-level declarations of one name, a cycle.
 *
 *   node scripts/notify-single-file.mjs [dist-dir]     (default: ./dist)
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const ENTRY = path.join('handlers', 'cli', 'notify', 'main.mjs');
const OUTPUT = path.join('handlers', 'cli', 'release-bot-notify.mjs');

function fail(message) {
  throw new Error(`notify-single-file: ${message}`);
}

/** The top-level names a statement declares (functions, classes, variables). */
function declaredNames(st) {
  if ((ts.isFunctionDeclaration(st) || ts.isClassDeclaration(st)) && st.name) return [st.name.text];
  if (ts.isVariableStatement(st))
    return st.declarationList.declarations.map((d) =>
      ts.isIdentifier(d.name) ? d.name.text : fail(`a destructuring declaration at top level: ${d.getText()}`),
    );
  return [];
}

export function joinNotify(dist) {
  const seen = new Map(); // file -> 'visiting' | 'done'
  const nodeImports = new Map(); // specifier -> { default?: string, named: Set<string> }
  const bodies = [];
  const names = new Map(); // name -> file
  const visit = (file) => {
    if (seen.get(file) === 'done') return;
    if (seen.get(file) === 'visiting') fail(`an import cycle through ${path.relative(dist, file)}`);
    seen.set(file, 'visiting');
    const text = readFileSync(file, 'utf8');
    const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.JS);
    const kept = [];
    for (const st of sf.statements) {
      const spec = (ts.isImportDeclaration(st) || ts.isExportDeclaration(st)) && st.moduleSpecifier ? st.moduleSpecifier.text : undefined;
      if (spec === undefined) {
        for (const name of declaredNames(st)) {
          if (names.has(name)) fail(`${name} is declared in ${names.get(name)} and ${path.relative(dist, file)}`);
          names.set(name, path.relative(dist, file));
        }
        kept.push(st.getText());
        continue;
      }
      if (spec.startsWith('./') || spec.startsWith('../')) {
        const clause = ts.isImportDeclaration(st) ? st.importClause : undefined;
        if (clause?.name) fail(`a default import of ${spec} in ${path.relative(dist, file)}`);
        const bindings = clause?.namedBindings ?? (ts.isExportDeclaration(st) ? st.exportClause : undefined);
        if (bindings && !ts.isNamedImports(bindings) && !ts.isNamedExports(bindings)) fail(`a namespace import of ${spec}`);
        for (const el of bindings?.elements ?? []) if (el.propertyName) fail(`${spec} imported or exported under another name`);
        visit(path.resolve(path.dirname(file), spec));
        continue;
      }
      if (!spec.startsWith('node:') || !ts.isImportDeclaration(st)) fail(`${path.relative(dist, file)} uses ${spec}: only node: imports`);
      const entry = nodeImports.get(spec) ?? { default: undefined, named: new Set() };
      const clause = st.importClause;
      if (clause?.name) {
        if (entry.default && entry.default !== clause.name.text) fail(`${spec} imported as ${entry.default} and ${clause.name.text}`);
        entry.default = clause.name.text;
      }
      const bindings = clause?.namedBindings;
      if (bindings && !ts.isNamedImports(bindings)) fail(`a namespace import of ${spec}`);
      for (const el of bindings?.elements ?? []) {
        if (el.propertyName) fail(`${spec} imported under another name`);
        entry.named.add(el.name.text);
      }
      nodeImports.set(spec, entry);
    }
    bodies.push(kept.join('\n'));
    seen.set(file, 'done');
  };
  const entry = path.join(dist, ENTRY);
  const source = readFileSync(entry, 'utf8');
  visit(entry);
  const imports = [...nodeImports].map(([spec, { default: def, named }]) => {
    const parts = [def, named.size > 0 ? `{ ${[...named].sort().join(', ')} }` : undefined].filter(Boolean);
    return `import ${parts.join(', ')} from '${spec}';`;
  });
  // The entry's shebang and its leading comment, then what every module declares, dependencies first.
  const header = source.slice(
    0,
    ts.createSourceFile(entry, source, ts.ScriptTarget.Latest, true, ts.ScriptKind.JS).statements[0].getStart(),
  );
  const joined = `${header.trimEnd()}\n// Joined by scripts/notify-single-file.mjs from handlers/cli/notify/*.mts: edit those.\n${imports.join('\n')}\n\n${bodies.join('\n\n')}\n`;
  const output = path.join(dist, OUTPUT);
  writeFileSync(output, joined);
  return output;
}

if (import.meta.url === `file://${process.argv[1]}`) joinNotify(path.resolve(process.argv[2] ?? 'dist'));
