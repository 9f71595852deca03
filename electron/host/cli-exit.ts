/**
 * A finished command ends the process, like `ssh` or `docker exec` would: scripts wrap `hlab`, and
 * one socket a guest never closed (say, one open across a snapshot restore) must not hang them.
 * Output is flushed first: the exit comes only when the event loop would otherwise stay alive.
 */
export function exitWhenDone(code: number, graceMs = 1000): void {
  process.exitCode = code;
  setTimeout(() => process.exit(code), graceMs).unref();
}
