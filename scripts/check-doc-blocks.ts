/**
 * Type-checks every ```ts block of README.md and docs/**\/*.md as written, each block its own
 * module, against the built package's public exports (`aad-backend-auth`, `/redis`, `/testing`),
 * together with the runnable programs in examples/. All files go into ONE TypeScript program,
 * so the whole check takes seconds. Also checks relative links and their #anchors, and that
 * docs/errors.md has a heading for every error code.
 *
 * Fence conventions:
 *   ```ts                  a complete module: imports included, no undeclared names
 *   ```ts title="bff.ts"   the same, saved as bff.ts: later blocks of the same page import './bff.js'
 *   ```ts partial          deliberately partial, not compiled: at most one ts block in ten
 *
 * Needs dist/ (npm run build): the package resolves itself through its own "exports", so blocks
 * see exactly what a user of the published package sees.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = join(root, 'build', 'doc-blocks');

/** The compiler options of a strict user project; the same strictness as this package's own code. */
const compilerOptions: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  lib: ['lib.es2023.d.ts'],
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  moduleDetection: ts.ModuleDetectionKind.Force,
  types: ['node'],
  strict: true,
  exactOptionalPropertyTypes: true,
  noUncheckedIndexedAccess: true,
  verbatimModuleSyntax: true,
  isolatedModules: true,
  esModuleInterop: true,
  skipLibCheck: true,
  noEmit: true,
};

interface Block {
  readonly page: string; // relative to the root, e.g. docs/errors.md
  readonly line: number; // 1-based line of the first code line
  readonly lang: string;
  readonly title: string | undefined;
  readonly partial: boolean;
  readonly code: string;
}

const problems: string[] = [];

async function markdownFiles(): Promise<string[]> {
  const files = ['README.md'];
  async function walk(dir: string): Promise<void> {
    for (const entry of await readdir(join(root, dir), { withFileTypes: true })) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory()) await walk(path);
      else if (entry.name.endsWith('.md')) files.push(path);
    }
  }
  if (existsSync(join(root, 'docs'))) await walk('docs');
  return files;
}

/** Every fenced block of a page, with its info string parsed. */
function blocksOf(page: string, text: string): Block[] {
  const blocks: Block[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,})(\S*)\s*(.*)$/.exec(lines[i]!);
    if (!open) continue;
    const [, indent = '', fence = '```', lang = '', rest = ''] = open;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length && !lines[j]!.trimStart().startsWith(fence); j++) body.push(lines[j]!.slice(Math.min(indent.length, lines[j]!.length - lines[j]!.trimStart().length)));
    if (j === lines.length) problems.push(`${page}:${i + 1}: unclosed code fence`);
    const title = /(?:^|\s)title="([^"]+)"/.exec(rest)?.[1];
    const partial = /(?:^|\s)partial(?:\s|$)/.test(rest);
    const leftover = rest.replace(/(?:^|\s)title="[^"]+"/, '').replace(/(?:^|\s)partial(?=\s|$)/, '').trim();
    if (leftover !== '') problems.push(`${page}:${i + 1}: unknown fence attribute "${leftover}" (use title="name.ts" or partial)`);
    blocks.push({ page, line: i + 2, lang, title, partial, code: body.join('\n') + '\n' });
    i = j;
  }
  return blocks;
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, duplicates numbered. */
function anchorsOf(text: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  let inFence = false;
  for (const line of text.split('\n')) {
    if (/^\s*```/.test(line)) inFence = !inFence;
    const heading = !inFence && /^#{1,6}\s+(.*)$/.exec(line);
    if (!heading) continue;
    const base = heading[1]!.trim().toLowerCase().replace(/<[^>]+>/g, '').replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

/** Relative links must point at a file that exists, and a #fragment at a heading of it. */
async function checkLinks(page: string, text: string): Promise<void> {
  const withoutCode = text.replace(/```[\s\S]*?```/g, (block) => block.replace(/[^\n]/g, ' ')).replace(/`[^`\n]*`/g, '');
  for (const match of withoutCode.matchAll(/\]\(([^)\s]+)\)/g)) {
    const target = match[1]!;
    if (/^[a-z]+:/i.test(target)) continue; // http:, https:, mailto:
    const [path = '', fragment] = target.split('#');
    const file = path === '' ? join(root, page) : resolve(dirname(join(root, page)), path);
    const line = text.slice(0, match.index).split('\n').length;
    if (!existsSync(file)) {
      problems.push(`${page}:${line}: broken link ${target}`);
      continue;
    }
    if (fragment !== undefined && file.endsWith('.md') && !anchorsOf(await readFile(file, 'utf8')).has(fragment)) {
      problems.push(`${page}:${line}: no heading for #${fragment} in ${relative(root, file)}`);
    }
  }
}

/** docs/errors.md has a heading for every code of the one code table in lib/core/errors.ts. */
async function checkErrorPages(): Promise<void> {
  const source = await readFile(join(root, 'lib', 'core', 'errors.ts'), 'utf8');
  // The members of the union, one `| 'ERR_…'` line each (its TSDoc comments may hold any punctuation).
  const codes = [...source.matchAll(/^\s*\| '(ERR_[A-Z_]+)'/gm)].map((m) => m[1]!);
  if (codes.length === 0) problems.push('lib/core/errors.ts: could not read the error codes');
  const errorsPage = join(root, 'docs', 'errors.md');
  const anchors = existsSync(errorsPage) ? anchorsOf(await readFile(errorsPage, 'utf8')) : new Set<string>();
  for (const code of codes) if (!anchors.has(code.toLowerCase())) problems.push(`docs/errors.md: no "## ${code}" heading`);
}

async function exampleFiles(): Promise<string[]> {
  const dir = join(root, 'examples');
  if (!existsSync(dir)) return [];
  const files: string[] = [];
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile() && entry.name.endsWith('.ts')) files.push(join(entry.parentPath, entry.name));
  }
  return files;
}

async function main(): Promise<void> {
  const started = Date.now();
  if (!existsSync(join(root, 'dist', 'index.d.ts'))) {
    console.error('check-doc-blocks: dist/ is missing; run `npm run build` first');
    process.exit(1);
  }
  await rm(out, { recursive: true, force: true });
  const files = new Map<string, Block>(); // absolute file -> block, to map diagnostics back
  let tsBlocks = 0;
  let partials = 0;
  for (const page of await markdownFiles()) {
    const text = await readFile(join(root, page), 'utf8');
    await checkLinks(page, text);
    const dir = join(out, page.replace(/\.md$/, '').replace(/[/\\]/g, '__'));
    for (const block of blocksOf(page, text)) {
      if (block.lang !== 'ts' && block.lang !== 'typescript') {
        if (block.title !== undefined || block.partial) problems.push(`${page}:${block.line - 1}: title and partial are for ts blocks`);
        continue;
      }
      tsBlocks++;
      if (block.partial) {
        partials++;
        continue;
      }
      const name = block.title ?? `block-line-${block.line}.ts`;
      if (!/^[\w.-]+\.ts$/.test(name)) problems.push(`${page}:${block.line - 1}: title "${name}" must be a plain file name ending in .ts`);
      const file = join(dir, name);
      if (files.has(file)) problems.push(`${page}:${block.line - 1}: a second block titled "${name}" on this page`);
      await mkdir(dir, { recursive: true });
      await writeFile(file, block.code);
      files.set(file, block);
    }
  }
  if (partials * 10 > tsBlocks) problems.push(`${partials} of ${tsBlocks} ts blocks are partial: at most one in ten may be`);
  await checkErrorPages();

  const examples = await exampleFiles();
  const program = ts.createProgram([...files.keys(), ...examples], compilerOptions);
  const diagnostics = ts.getPreEmitDiagnostics(program);
  for (const diagnostic of diagnostics) {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
    const file = diagnostic.file;
    if (!file) {
      problems.push(`TS${diagnostic.code}: ${message}`);
      continue;
    }
    const { line } = file.getLineAndCharacterOfPosition(diagnostic.start ?? 0);
    const block = files.get(resolve(file.fileName));
    const where = block ? `${block.page}:${block.line + line}` : `${relative(root, file.fileName)}:${line + 1}`;
    problems.push(`${where}: TS${diagnostic.code}: ${message}`);
  }

  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (problems.length > 0) {
    for (const problem of problems) console.error(problem);
    console.error(`check-doc-blocks: ${problems.length} problem(s) in ${files.size} blocks and ${examples.length} examples (${seconds} s)`);
    process.exit(1);
  }
  console.log(`check-doc-blocks: ${files.size} ts blocks (${partials} partial of ${tsBlocks}) and ${examples.length} example files type-check; links and error headings ok (${seconds} s)`);
}

await main();
