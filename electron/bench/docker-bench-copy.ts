/**
 * A local copy of docker-bench-security (a folder with docker-bench-security.sh, functions/ and
 * tests/), for sites whose guests cannot reach GitHub. It is checked, hashed and uploaded as it
 * is: the hashes go into the bench result, so the evidence says exactly which script ran.
 */
import { createHash } from 'node:crypto';
import { lstatSync, readFileSync, readdirSync, type Stats } from 'node:fs';
import path from 'node:path';
import { HlabError } from '../../shared/errors.js';
import type { BenchInput } from '../../shared/bench.js';

export const DOCKER_BENCH_ENV = 'HLAB_DOCKER_BENCH_DIR';

/** What docker-bench-security.sh sources and runs (v1.6.0 and later). */
const REQUIRED = [
  'docker-bench-security.sh',
  'functions/functions_lib.sh',
  'functions/helper_lib.sh',
  'functions/output_lib.sh',
];
const FOLDERS = ['functions', 'tests'];
// The real tree is ~40 files and ~200 KB: anything far bigger is not a docker-bench checkout.
const MAX_FILES = 200;
const MAX_BYTES = 4 * 1024 * 1024;

export interface DockerBenchCopy {
  dir: string;
  version: string;
  files: BenchInput[];
  /** Names the uploaded tree in the guest: the same files land in the same place. */
  digest: string;
}

const bad = (dir: string, problem: string) =>
  new HlabError(
    'bad-request',
    `${dir}: not a usable docker-bench-security copy: ${problem}. It must hold docker-bench-security.sh, functions/ and tests/ as in the project's repository.`,
  );

function statOf(dir: string, rel: string): Stats | undefined {
  try {
    return lstatSync(path.join(dir, rel));
  } catch {
    return undefined;
  }
}

export function readDockerBenchCopy(dirIn: string): DockerBenchCopy {
  const dir = path.resolve(dirIn);
  if (!statOf(dir, '.')?.isDirectory()) throw bad(dir, 'no such folder');
  for (const rel of REQUIRED)
    if (!statOf(dir, rel)?.isFile()) throw bad(dir, `${rel} is missing (or not a plain file)`);
  const rels = ['docker-bench-security.sh'];
  for (const folder of FOLDERS) {
    if (!statOf(dir, folder)?.isDirectory()) throw bad(dir, `${folder}/ is missing`);
    for (const name of readdirSync(path.join(dir, folder)).sort()) {
      const rel = `${folder}/${name}`;
      const st = statOf(dir, rel);
      // Only plain files are sent: a link could point anywhere on this host.
      if (st?.isSymbolicLink()) throw bad(dir, `${rel} is a symbolic link`);
      if (st?.isFile() && name.endsWith('.sh')) rels.push(rel);
    }
  }
  if (!rels.some((r) => r.startsWith('tests/'))) throw bad(dir, 'tests/ holds no .sh file');
  if (rels.length > MAX_FILES) throw bad(dir, `${rels.length} scripts (more than ${MAX_FILES})`);
  let total = 0;
  const files = rels.map((rel) => {
    const data = readFileSync(path.join(dir, rel));
    total += data.length;
    if (total > MAX_BYTES) throw bad(dir, `its scripts are larger than ${MAX_BYTES / 1024 / 1024} MiB`);
    return { path: rel, sha256: createHash('sha256').update(data).digest('hex'), bytes: data.length };
  });
  const script = readFileSync(path.join(dir, 'docker-bench-security.sh'), 'utf8');
  const version = /^\s*(?:readonly\s+)?version=['"]?([0-9A-Za-z.+~-]{1,32})['"]?\s*$/m.exec(script)?.[1];
  const digest = createHash('sha256')
    .update(files.map((f) => `${f.sha256}  ${f.path}\n`).join(''))
    .digest('hex');
  return { dir, version: version ?? 'unknown', files, digest };
}

/** Where the copy is uploaded in the guest: one folder per distinct tree. */
export function guestDir(copy: DockerBenchCopy): string {
  return `/var/tmp/hlab-docker-bench-local/${copy.digest.slice(0, 16)}`;
}
