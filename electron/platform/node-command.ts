/**
 * How to start a plain Node script from this process: Node itself, or, inside the packaged app,
 * the Electron binary told to behave as Node (it has no separate node on the user's machine).
 */
export function nodeCommand(): string[] {
  return process.versions.electron
    ? ['/usr/bin/env', 'ELECTRON_RUN_AS_NODE=1', process.execPath]
    : [process.execPath];
}
