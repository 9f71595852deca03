/**
 * Loads workshops: labs/workshops/<id>/workshop.yaml plus the Markdown pages it names, with the
 * same `file:line: field: problem` errors as steps and recipes. Pages are plain file names inside
 * the workshop folder: a workshop (perhaps imported from someone else) never reads outside it.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { isMap, isSeq, type LineCounter, type Node } from 'yaml';
import type { LabIssue } from '../../shared/steps.js';
import type { ChallengeDef, WorkshopDef } from '../../shared/workshops.js';
import { display, ID, parseYaml, readLabFile, text, title } from './load.js';
import { Checker, type Schema } from './schema.js';

export const WORKSHOP_FILE = 'workshop.yaml';
/** A page is a file name in the workshop folder: no folders, no "..", Markdown only. */
export const PAGE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,80}\.md$/;

const HINT = { kind: 'string', nonEmpty: true } as const;

const CHALLENGE: Schema = {
  kind: 'object',
  fields: {
    id: { schema: ID, required: true },
    title: { schema: title, required: true },
    page: {
      schema: { kind: 'string', pattern: PAGE_NAME, patternHint: 'a .md file name in the workshop folder' },
      required: true,
    },
    hints: { schema: { kind: 'array', items: HINT } },
    check: { schema: text, required: true },
    solve: { schema: text },
    reboot: { schema: { kind: 'boolean' } },
  },
};

const WORKSHOP: Schema = {
  kind: 'object',
  fields: {
    id: { schema: ID, required: true },
    title: { schema: title, required: true },
    description: { schema: text },
    audience: { schema: title, required: true },
    duration: { schema: { kind: 'integer', min: 1, max: 24 * 60 }, required: true },
    base: { schema: ID, required: true },
    setup: { schema: text },
    setupTimeout: { schema: { kind: 'integer', min: 10, max: 3 * 3600 } },
    challenges: { schema: { kind: 'array', minItems: 1, items: CHALLENGE }, required: true },
  },
};

type Raw = {
  id: string;
  title: string;
  description?: string;
  audience: string;
  duration: number;
  base: string;
  setup?: string;
  setupTimeout?: number;
  challenges: Array<
    Omit<ChallengeDef, 'page' | 'pageFile' | 'hints' | 'reboot'> & {
      page: string;
      hints?: string[];
      reboot?: boolean;
    }
  >;
};

/** The line of `challenges[i].<field>` (or of the challenge) for errors found after the schema. */
function lineOf(root: Node | undefined, lines: LineCounter, i: number, field: string): number {
  if (!isMap(root)) return 1;
  const list = root.get('challenges', true);
  const item = isSeq(list) ? (list.items[i] as Node | undefined) : undefined;
  const node = isMap(item) ? ((item.get(field, true) as Node | undefined) ?? item) : item;
  return lines.linePos(node?.range?.[0] ?? 0).line;
}

/** `file`: the workshop.yaml; `source` overrides reading it (import checks archives before writing). */
export function loadWorkshop(
  file: string,
  origin: WorkshopDef['source'] = 'built-in',
  readPage: (name: string) => string = (name) => readLabFile(path.join(path.dirname(file), name)),
  source?: string,
): { workshop?: WorkshopDef; issues: LabIssue[] } {
  const name = display(file);
  const { node, lines, issues } = parseYaml(file, name, source);
  if (issues.length) return { issues };
  const c = new Checker(lines);
  const v = c.check(node, WORKSHOP, '', 1) as Raw | undefined;
  const found: LabIssue[] = c.issues.map((i) => ({ file: name, ...i }));
  if (!v || found.length) return { issues: found };
  const folder = path.basename(path.dirname(file));
  if (v.id !== folder)
    found.push({ file: name, line: 1, path: 'id', message: `must match the folder name ("${folder}")` });
  const seen = new Set<string>();
  const challenges: ChallengeDef[] = [];
  v.challenges.forEach((ch, i) => {
    if (seen.has(ch.id))
      found.push({
        file: name,
        line: lineOf(node, lines, i, 'id'),
        path: `challenges[${i}].id`,
        message: `"${ch.id}" is used by an earlier challenge`,
      });
    seen.add(ch.id);
    let page = '';
    try {
      page = readPage(ch.page);
      if (!page.trim()) throw new Error('the page is empty');
    } catch (err) {
      found.push({
        file: name,
        line: lineOf(node, lines, i, 'page'),
        path: `challenges[${i}].page`,
        message: `cannot read ${ch.page}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`,
      });
    }
    challenges.push({
      id: ch.id,
      title: ch.title,
      page,
      pageFile: ch.page,
      hints: ch.hints ?? [],
      check: ch.check,
      ...(ch.solve ? { solve: ch.solve } : {}),
      reboot: ch.reboot === true,
    });
  });
  if (found.length) return { issues: found };
  return {
    workshop: {
      id: v.id,
      title: v.title,
      ...(v.description ? { description: v.description } : {}),
      audience: v.audience,
      durationMinutes: v.duration,
      base: v.base,
      ...(v.setup ? { setup: v.setup } : {}),
      setupTimeoutSeconds: v.setupTimeout ?? 600,
      challenges,
      dir: display(path.dirname(file)),
      source: origin,
    },
    issues: [],
  };
}

/** Every workshop folder under `dir` (labs/workshops, or the home's imported ones). */
export function loadWorkshops(
  dir: string,
  origin: WorkshopDef['source'],
): { workshops: WorkshopDef[]; issues: LabIssue[] } {
  const workshops: WorkshopDef[] = [];
  const issues: LabIssue[] = [];
  if (!existsSync(dir)) return { workshops, issues };
  for (const entry of readdirSync(dir).sort()) {
    const folder = path.join(dir, entry);
    if (!statSync(folder).isDirectory()) continue;
    const file = path.join(folder, WORKSHOP_FILE);
    if (!existsSync(file)) {
      issues.push({ file: display(folder), line: 1, path: '(folder)', message: `no ${WORKSHOP_FILE} in it` });
      continue;
    }
    const r = loadWorkshop(file, origin);
    if (r.workshop) workshops.push(r.workshop);
    issues.push(...r.issues);
  }
  return { workshops, issues };
}
