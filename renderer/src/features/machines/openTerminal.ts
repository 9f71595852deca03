import { useNav } from '../navigation';
import { useTerminals } from '../terminal/store';

/** Opens a shell on the machine and shows it, as a row's or a toast's "Open terminal" does. */
export function openTerminal(machine: string): void {
  useTerminals.getState().open(machine);
  useNav.getState().go('Terminal');
}
