/**
 * Reboots a machine the way its provider does it, so the guest's own shutdown path always runs:
 * - 'exit-and-restart' (QEMU -no-reboot): the hypervisor ends, the provider starts it again;
 * - 'in-place': the guest reboots inside the running VM; SSH goes away and comes back with a new
 *   boot id.
 * A boot that never reaches SSH, or a kernel that panics, surfaces as an error naming the machine.
 */
import { whatItSaid } from '../../shared/said.js';
import { HlabError } from '../../shared/errors.js';
import type { Progress } from '../../shared/types.js';
import type { EngineContext } from './context.js';

export const SHUTDOWN_TIMEOUT_MS = 180_000;
/** A cold boot answers SSH after ~48 s under TCG; the first boot of a new kernel takes longer. */
export const BOOT_TIMEOUT_MS = 300_000;
/**
 * sshd answering and refusing the key this long after a reboot is a lock-out (SELinux labels,
 * AllowUsers), not a slow boot: waiting out BOOT_TIMEOUT_MS would only delay the rollback.
 */
export const AUTH_REFUSED_GRACE_MS = 45_000;

export interface RebootOptions {
  signal?: AbortSignal;
  progress?: (p: Progress) => void;
  bootTimeoutMs?: number;
}

export async function rebootMachine(
  ctx: EngineContext,
  machine: string,
  o: RebootOptions = {},
): Promise<void> {
  ctx.terminals.closeMachine(machine, `machine "${machine}" is rebooting`);
  const provider = ctx.machines.owner(machine);
  const info = await provider.get(machine);
  const waitForExit =
    provider.capabilities.reboot === 'exit-and-restart'
      ? provider.waitForGuestExit?.bind(provider)
      : undefined;
  let bootBefore: string | undefined;
  if (info.state === 'running') {
    o.progress?.({ current: 0, max: -1, description: `rebooting ${machine}` });
    if (!waitForExit) bootBefore = await ctx.machines.bootId(machine);
    const ex = ctx.machines.executor(machine);
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
              `Could not ask "${machine}" to reboot: ${whatItSaid(r.stderr, r.stdout)}`,
              {
                machine,
              },
            );
        },
        () => undefined,
      )
      .finally(() => ex.reset());
    if (waitForExit && !(await waitForExit(machine, SHUTDOWN_TIMEOUT_MS, o.signal))) {
      throw new HlabError(
        'timeout',
        `Machine "${machine}" did not shut down within ${SHUTDOWN_TIMEOUT_MS / 1000} s of being asked to reboot.`,
        { machine },
      );
    }
  }
  if ((await provider.get(machine)).state !== 'running') {
    o.progress?.({ current: 0, max: -1, description: `booting ${machine}` });
    await provider.up(machine, { signal: o.signal, progress: o.progress });
  }
  await ctx.machines.waitReady(machine, {
    signal: o.signal,
    progress: o.progress,
    timeoutMs: o.bootTimeoutMs ?? BOOT_TIMEOUT_MS,
    authRefusedGraceMs: AUTH_REFUSED_GRACE_MS,
    ...(bootBefore ? { bootIdOtherThan: bootBefore } : {}),
  });
}
