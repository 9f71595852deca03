import { useMemo, type MutableRefObject } from 'react';
import { api } from '../../api/client';
import { useNav } from '../navigation';
import { machineShell } from './session';
import { useTerminals } from './store';
import { XtermPane } from './XtermPane';

/** A shell on one of the app's machines (the Terminal section's tabs, the workshop view). */
export function TerminalView({
  tabKey,
  machine,
  visible,
  blocked,
  typeRef,
}: {
  tabKey: number;
  machine: string;
  visible: boolean;
  /** Why this shell cannot come back now (its machine is stopped or removed). */
  blocked?: string;
  typeRef?: MutableRefObject<((text: string) => void) | undefined>;
}) {
  const setState = useTerminals((s) => s.setState);
  const theme = useNav((s) => s.theme);
  const shell = useMemo(() => machineShell(api(), machine), [machine]);
  return (
    <XtermPane
      api={api()}
      shell={shell}
      testId={`terminal-${tabKey}`}
      visible={visible}
      theme={theme}
      onState={(s, reason) => setState(tabKey, s, reason)}
      blocked={blocked}
      typeRef={typeRef}
    />
  );
}
