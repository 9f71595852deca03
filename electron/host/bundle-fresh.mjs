// Whether a prebuilt bundle may run instead of the TypeScript sources: never stale code in an
// edited checkout. Plain JavaScript, because `hlab` asks before anything is transpiled.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

/** @param {string} dir @returns {number} */
function newestSource(dir) {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (/\.(ts|mjs|json)$/.test(e.name)) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

/**
 * The bundle is newer than every source under electron/ and shared/ (the whole CLI's inputs).
 * @param {string} bundle
 * @param {string} root
 * @returns {boolean}
 */
export function newerThanSources(bundle, root) {
  try {
    const built = statSync(bundle).mtimeMs;
    return ['electron', 'shared'].every((d) => newestSource(path.join(root, d)) <= built);
  } catch {
    return false;
  }
}

/**
 * The bundle is newer than each file it was built from, as listed beside it at build time
 * (`BUNDLE.inputs.json`): a few stats instead of walking the tree, for the path scripts call
 * hundreds of times. A new import is an edit of a listed file, so it is seen too.
 * @param {string} bundle
 * @param {string} root
 * @returns {boolean}
 */
export function newerThanInputs(bundle, root) {
  try {
    const built = statSync(bundle).mtimeMs;
    const inputs = JSON.parse(readFileSync(`${bundle}.inputs.json`, 'utf8'));
    return (
      Array.isArray(inputs) &&
      inputs.length > 0 &&
      inputs.every((f) => typeof f === 'string' && statSync(path.join(root, f)).mtimeMs <= built)
    );
  } catch {
    return false;
  }
}
