import type { MachineInfo } from '../../../../shared/types';

/** Why a tab's shell cannot reconnect: its machine is gone or not running (the list must be loaded). */
export function blockedReason(
  machine: string,
  machines: readonly MachineInfo[],
  loaded: boolean,
): string | undefined {
  if (!loaded) return undefined;
  const m = machines.find((x) => x.name === machine);
  if (!m) return `${machine} no longer exists: close this tab.`;
  if (m.state !== 'running')
    return `${machine} is ${m.state}: start it under Machines, then press a key here to reconnect.`;
  return undefined;
}
