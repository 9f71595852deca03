/**
 * Reboots a machine the way the engine needs it: the guest reboots itself (so its shutdown path
 * runs), QEMU ends because it runs with -no-reboot, and the provider starts it again. A boot that
 * never reaches SSH, or a kernel that panics, surfaces as an error naming the machine.
 */
import { HlabError } from '../../shared/errors.js';
import type { Progress } from '../../shared/types.js';
import type { ServiceContext } from '../core/context.js';
import { machineExecutor, waitReady } from '../core/handlers/machines.js';

export const SHUTDOWN_TIMEOUT_MS = 180_000;
/** A cold boot answers SSH after ~48 s under TCG; the first boot of a new kernel takes longer. */
export const BOOT_TIMEOUT_MS = 300_000;

export interface RebootOptions {
  signal?: AbortSignal;
  progress?: (p: Progress) => void;
  bootTimeoutMs?: number;
}

export async function rebootMachine(
  ctx: ServiceContext,
  machine: string,
  o: RebootOptions = {},
): Promise<void> {
  ctx.terminals.closeMachine(machine, `machine "${machine}" is rebooting`);
  const info = await ctx.qemu.get(machine);
  if (info.state === 'running') {
    o.progress?.({ current: 0, max: -1, description: `rebooting ${machine}` });
    const ex = machineExecutor(ctx, machine);
    // Detached, so the reboot cannot take our channel down before the command returns.
    await ex
      .exec('sudo -n systemd-run --no-block --on-active=1 --unit=hlab-reboot /bin/systemctl reboot', {
        timeoutMs: 30_000,
      })
      .then(
        (r) => {
          if (r.exitCode !== 0)
            throw new HlabError(
              'command-failed',
              `Could not ask "${machine}" to reboot: ${r.stderr.trim()}`,
              {
                machine,
              },
            );
        },
        () => undefined,
      )
      .finally(() => ex.reset());
    if (!(await ctx.qemu.waitForGuestExit(machine, SHUTDOWN_TIMEOUT_MS, o.signal))) {
      throw new HlabError(
        'timeout',
        `Machine "${machine}" did not shut down within ${SHUTDOWN_TIMEOUT_MS / 1000} s of being asked to reboot.`,
        { machine },
      );
    }
  }
  o.progress?.({ current: 0, max: -1, description: `booting ${machine}` });
  await ctx.qemu.up(machine, { signal: o.signal, progress: o.progress });
  await waitReady(
    ctx,
    machine,
    { signal: o.signal ?? new AbortController().signal, progress: o.progress ?? (() => undefined) },
    o.bootTimeoutMs ?? BOOT_TIMEOUT_MS,
    false,
  );
}
