/** Base images on disk: <dir>/<name>/<name>.qcow2 + manifest.json, read-only once written. */
import { createHash } from 'node:crypto';
import {
  chmodSync,
  createReadStream,
  existsSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import path from 'node:path';
import { HlabError } from '../../shared/errors.js';
import type { ImageInfo } from '../../shared/types.js';
import { writeFileAtomic } from '../platform/atomic-write.js';

export async function sha256File(file: string, algo: 'sha256' | 'sha512' = 'sha256'): Promise<string> {
  const h = createHash(algo);
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

export class ImageStore {
  constructor(readonly dir: string) {}

  paths(name: string) {
    const d = path.join(this.dir, name);
    return { dir: d, image: path.join(d, `${name}.qcow2`), manifest: path.join(d, 'manifest.json') };
  }

  get(name: string): ImageInfo | undefined {
    const p = this.paths(name);
    if (!existsSync(p.manifest)) return undefined;
    try {
      return JSON.parse(readFileSync(p.manifest, 'utf8')) as ImageInfo;
    } catch {
      return undefined;
    }
  }

  list(): ImageInfo[] {
    if (!existsSync(this.dir)) return [];
    return readdirSync(this.dir)
      .map((n) => this.get(n))
      .filter((i): i is ImageInfo => i !== undefined && existsSync(i.path));
  }

  save(info: ImageInfo): ImageInfo {
    const p = this.paths(info.name);
    writeFileAtomic(p.manifest, JSON.stringify(info, null, 2));
    return info;
  }

  /** Moves a finished image file into place read-only and records its manifest (size, sha256). */
  async install(
    name: string,
    file: string,
    meta: Pick<ImageInfo, 'kernel' | 'recipeHash' | 'source' | 'packages' | 'seeding'>,
  ): Promise<ImageInfo> {
    const p = this.paths(name);
    rmSync(p.image, { force: true });
    renameSync(file, p.image);
    chmodSync(p.image, 0o444);
    return this.save({
      name,
      path: p.image,
      sizeBytes: statSync(p.image).size,
      sha256: await sha256File(p.image),
      builtAt: new Date().toISOString(),
      ...meta,
    });
  }

  /** Resolves an image for a new machine and proves it is intact (sha256 against the manifest). */
  private readonly verifiedStamps = new Map<string, string>();

  async verified(name: string): Promise<ImageInfo> {
    const info = this.get(name);
    if (!info || !existsSync(info.path)) {
      throw new HlabError('image-missing', `Base image "${name}" is not there.`, {
        image: name,
        hint: `run: hlab image build --name ${name}`,
      });
    }
    const st = statSync(info.path);
    const size = st.size;
    // A long-lived process (the app, the web host) hashes an unchanged file once.
    const stamp = `${info.path}:${st.ino}:${st.size}:${st.mtimeMs}`;
    if (this.verifiedStamps.get(stamp) === info.sha256) return info;
    const actual = size === info.sizeBytes ? await sha256File(info.path) : `size ${size}`;
    if (actual === info.sha256) this.verifiedStamps.set(stamp, actual);
    if (actual !== info.sha256) {
      throw new HlabError('image-corrupt', `Base image ${info.path} does not match its manifest checksum.`, {
        image: name,
        expected: info.sha256,
        actual,
        hint: `rebuild it: hlab image build --name ${name} --force`,
      });
    }
    return info;
  }
}
