/** Image recipes (labs/images/*.yaml): loaded, validated, and hashed together with the build script. */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { appPath } from '../platform/app-root.js';
import { parse } from 'yaml';
import { HlabError } from '../../shared/errors.js';
import { IMAGE_SEEDINGS, type ImageSeeding } from '../../shared/types.js';

export const BUILD_SCRIPT = appPath('electron', 'images', 'build-debian.sh');
export const GUEST_DIR = appPath('electron', 'images', 'guest');
export const RECIPES_DIR = appPath('labs', 'images');

export interface ImageRecipe {
  name: string;
  suite: string;
  mirror: string;
  securityMirror: string;
  kernel: string;
  diskSizeMiB: number;
  rootLabel: string;
  packages: string[];
  initramfsModules: string[];
  /** How a machine gets its user and keys: our fw_cfg seed unit, or cloud-init's NoCloud seed. */
  seeding: ImageSeeding;
  file: string;
  hash: string;
}

function need<T>(
  file: string,
  obj: Record<string, unknown>,
  key: string,
  check: (v: unknown) => v is T,
  what: string,
): T {
  const v = obj[key];
  if (!check(v)) throw new HlabError('bad-request', `${file}: ${key}: expected ${what}`);
  return v;
}
const isString = (v: unknown): v is string => typeof v === 'string' && v.length > 0;
const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every(isString);
const isSeeding = (v: unknown): v is ImageSeeding => IMAGE_SEEDINGS.includes(v as ImageSeeding);
const isPositive = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0;

export function recipeHash(recipeText: string): string {
  const h = createHash('sha256').update(recipeText).update(readFileSync(BUILD_SCRIPT));
  for (const f of readdirSync(GUEST_DIR).sort()) h.update(f).update(readFileSync(path.join(GUEST_DIR, f)));
  return h.digest('hex');
}

export function loadImageRecipe(name: string, dir = RECIPES_DIR): ImageRecipe {
  const file = path.join(dir, `${name}.yaml`);
  if (!/^[a-z0-9][a-z0-9.-]*$/.test(name) || !existsSync(file)) {
    const known = existsSync(dir)
      ? readdirSync(dir)
          .filter((f) => f.endsWith('.yaml'))
          .map((f) => f.slice(0, -5))
      : [];
    throw new HlabError('not-found', `No image recipe "${name}" (known: ${known.join(', ') || 'none'}).`);
  }
  const text = readFileSync(file, 'utf8');
  const doc = parse(text) as unknown;
  if (typeof doc !== 'object' || doc === null)
    throw new HlabError('bad-request', `${file}: expected a mapping`);
  const o = doc as Record<string, unknown>;
  const rel = path.relative(process.cwd(), file);
  return {
    name: need(rel, o, 'name', isString, 'string'),
    suite: need(rel, o, 'suite', isString, 'string'),
    mirror: need(rel, o, 'mirror', isString, 'URL string'),
    securityMirror: need(rel, o, 'securityMirror', isString, 'URL string'),
    kernel: need(rel, o, 'kernel', isString, 'package name'),
    diskSizeMiB: need(rel, o, 'diskSizeMiB', isPositive, 'positive integer'),
    rootLabel: need(rel, o, 'rootLabel', isString, 'string'),
    packages: need(rel, o, 'packages', isStrings, 'list of package names'),
    initramfsModules: need(rel, o, 'initramfsModules', isStrings, 'list of module names'),
    seeding:
      o.seeding === undefined
        ? 'hlab-seed'
        : need(rel, o, 'seeding', isSeeding, `one of ${IMAGE_SEEDINGS.join(', ')}`),
    file,
    hash: recipeHash(text),
  };
}
