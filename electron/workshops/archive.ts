/**
 * `hlab workshop pack|import`: a workshop folder as one JSON file (text files only), so trainers
 * can pass workshops around. An archive is someone else's file: names, sizes and the workshop
 * itself are checked like the step files before anything is written.
 */
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { HlabError } from '../../shared/errors.js';
import { formatIssue } from '../../shared/steps.js';
import { WORKSHOP_ARCHIVE_FORMAT, type WorkshopArchive, type WorkshopDef } from '../../shared/workshops.js';
import { MAX_LAB_FILE_BYTES, readLabFile } from '../steps/load.js';
import { loadWorkshop, WORKSHOP_FILE } from '../steps/workshop-load.js';

const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,80}\.(md|ya?ml)$/;
const MAX_FILES = 64;
export const MAX_ARCHIVE_BYTES = 4 * MAX_LAB_FILE_BYTES;

/**
 * Packs what the workshop is made of and nothing else: workshop.yaml and the pages it names, each
 * read like any lab file (no symlink out of the labs folder, no FIFO, at most 1 MiB). A stray file
 * in a team's folder, or a link to a host file, never travels with the archive.
 */
export function packWorkshop(w: WorkshopDef): { content: string; filename: string } {
  const files: Record<string, string> = {};
  for (const name of [WORKSHOP_FILE, ...new Set(w.challenges.map((c) => c.pageFile))]) {
    const full = path.join(w.dir, name);
    if (!FILE_NAME.test(name))
      throw new HlabError(
        'bad-request',
        `${full}: cannot pack: not a plain .md or .yaml name in the workshop folder.`,
      );
    try {
      files[name] = readLabFile(full);
    } catch (err) {
      throw new HlabError('bad-request', `${full}: cannot pack: ${(err as Error).message}.`);
    }
  }
  const archive: WorkshopArchive = { format: WORKSHOP_ARCHIVE_FORMAT, id: w.id, files };
  return { content: JSON.stringify(archive, null, 1) + '\n', filename: `${w.id}.hlab-workshop.json` };
}

/** Checks an archive and returns the workshop it holds (loaded from the archive's own text). */
export function checkArchive(
  text: string,
  name: string,
): { archive: WorkshopArchive; workshop: WorkshopDef } {
  if (text.length > MAX_ARCHIVE_BYTES)
    throw new HlabError(
      'bad-request',
      `${name}: ${text.length} bytes, over the ${MAX_ARCHIVE_BYTES}-byte limit.`,
    );
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new HlabError(
      'bad-request',
      `${name}: not a workshop archive (not JSON: ${(err as Error).message}).`,
    );
  }
  const a = v as Partial<WorkshopArchive>;
  if (!a || typeof a !== 'object' || a.format !== WORKSHOP_ARCHIVE_FORMAT)
    throw new HlabError('bad-request', `${name}: format: expected "${WORKSHOP_ARCHIVE_FORMAT}".`);
  if (typeof a.id !== 'string' || !/^[a-z0-9][a-z0-9-]{1,62}$/.test(a.id))
    throw new HlabError('bad-request', `${name}: id: expected lower-case letters, digits and "-".`);
  if (!a.files || typeof a.files !== 'object' || Array.isArray(a.files))
    throw new HlabError('bad-request', `${name}: files: expected an object of file name -> text.`);
  const entries = Object.entries(a.files);
  if (entries.length > MAX_FILES)
    throw new HlabError('bad-request', `${name}: files: more than ${MAX_FILES} files.`);
  const folded = new Set<string>();
  for (const [file, body] of entries) {
    if (!FILE_NAME.test(file))
      throw new HlabError(
        'bad-request',
        `${name}: files.${JSON.stringify(file)}: not a plain .md or .yaml file name.`,
      );
    if (typeof body !== 'string')
      throw new HlabError('bad-request', `${name}: files.${file}: expected text.`);
    // The loader refuses files over this size: an import must not write a folder that never loads.
    if (Buffer.byteLength(body) > MAX_LAB_FILE_BYTES)
      throw new HlabError(
        'bad-request',
        `${name}: files.${file}: ${Buffer.byteLength(body)} bytes, over the ${MAX_LAB_FILE_BYTES}-byte limit of a lab file.`,
      );
    // On a case-insensitive file system the second would replace the first after the check.
    if (folded.has(file.toLowerCase()))
      throw new HlabError(
        'bad-request',
        `${name}: files.${file}: another file differs from it only in case.`,
      );
    folded.add(file.toLowerCase());
  }
  const files = a.files as Record<string, string>;
  const yaml = files[WORKSHOP_FILE];
  if (yaml === undefined) throw new HlabError('bad-request', `${name}: files: no ${WORKSHOP_FILE}.`);
  // Loaded as if it sat in <id>/, so errors read "<id>/workshop.yaml:12: challenges[0].check: ...".
  const r = loadWorkshop(
    path.join(a.id, WORKSHOP_FILE),
    'imported',
    (page) => {
      const body = Object.hasOwn(files, page) ? files[page] : undefined;
      if (body === undefined) throw Object.assign(new Error('no such file'), { code: 'ENOENT' });
      return body;
    },
    yaml,
  );
  if (!r.workshop)
    throw new HlabError(
      'bad-request',
      `${name}: the workshop has errors:\n${r.issues.map(formatIssue).join('\n')}`,
      {
        issues: r.issues,
      },
    );
  return { archive: a as WorkshopArchive, workshop: r.workshop };
}

/** Writes a checked archive under `dir/<id>/`, replacing an earlier import of the same id only when asked. */
export function importWorkshop(
  text: string,
  name: string,
  dir: string,
  o: { builtInIds: Set<string>; replace?: boolean },
): string {
  const { archive } = checkArchive(text, name);
  if (o.builtInIds.has(archive.id))
    throw new HlabError(
      'conflict',
      `${name}: "${archive.id}" is a built-in workshop; rename the imported one.`,
    );
  const target = path.join(dir, archive.id);
  if (existsSync(target) && !o.replace)
    throw new HlabError(
      'conflict',
      `Workshop "${archive.id}" was imported before; import again with --replace.`,
    );
  mkdirSync(dir, { recursive: true });
  const tmp = `${target}.importing-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  for (const [file, body] of Object.entries(archive.files)) writeFileSync(path.join(tmp, file), body);
  rmSync(target, { recursive: true, force: true });
  renameSync(tmp, target);
  return archive.id;
}
