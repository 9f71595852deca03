import { FitAddon } from '@xterm/addon-fit';
import { Terminal } from '@xterm/xterm';
import '@xterm/xterm/css/xterm.css';
import { useEffect, useRef, type MutableRefObject } from 'react';
import type { ApiClient } from '../../../../shared/rpc';
import { bindTerminal, type SessionCallbacks, type ShellOps } from './session';

export const THEMES = {
  dark: { background: '#0f1115', foreground: '#e6e9ef', cursor: '#5aa9ff', selectionBackground: '#2b4a6f' },
  light: { background: '#ffffff', foreground: '#1c2027', cursor: '#0b63ce', selectionBackground: '#cfe3ff' },
};

/** One xterm bound to one shell (whose, `shell` says); fits its box and follows the theme. */
export function XtermPane({
  api,
  shell,
  testId,
  visible = true,
  readOnly = false,
  theme = 'dark',
  onState,
  blocked,
  typeRef,
}: {
  api: ApiClient;
  /** Must stay the same object for the pane's life: a new one reconnects. */
  shell: ShellOps;
  testId: string;
  visible?: boolean;
  readOnly?: boolean;
  theme?: keyof typeof THEMES;
  onState?: SessionCallbacks['onState'];
  /** Why a key press must not reconnect now (the machine is stopped or gone), if it must not. */
  blocked?: string;
  /** Set while the pane lives: types text into it as if from the keyboard ("Run in terminal"). */
  typeRef?: MutableRefObject<((text: string) => void) | undefined>;
}) {
  const host = useRef<HTMLDivElement>(null);
  const fitRef = useRef<FitAddon | undefined>(undefined);
  const termRef = useRef<Terminal | undefined>(undefined);
  const stateRef = useRef(onState);
  const blockedRef = useRef(blocked);
  useEffect(() => {
    stateRef.current = onState;
    blockedRef.current = blocked;
  });

  useEffect(() => {
    if (!host.current) return;
    const term = new Terminal({
      fontFamily: "'DejaVu Sans Mono', monospace",
      fontSize: 14,
      // At line height 1 the DOM renderer's rows are exactly the measured cell, and DejaVu Sans
      // Mono's underscore lies below it: clipped, so sshd_config read "sshd config" (ux review I-1).
      lineHeight: 1.2,
      cursorBlink: true,
      scrollback: 5000,
      theme: THEMES[theme],
    });
    const fit = new FitAddon();
    term.loadAddon(fit);
    term.open(host.current);
    fit.fit();
    termRef.current = term;
    fitRef.current = fit;
    const unbind = bindTerminal(
      api,
      term,
      shell,
      { onState: (s, reason) => stateRef.current?.(s, reason) },
      () => blockedRef.current,
    );
    if (typeRef)
      typeRef.current = (text) => {
        term.input(text, true);
        term.focus();
      };
    const observer = new ResizeObserver(() => {
      if (host.current?.offsetParent) fit.fit();
    });
    observer.observe(host.current);
    return () => {
      if (typeRef) typeRef.current = undefined;
      observer.disconnect();
      unbind();
      term.dispose();
    };
    // The theme is applied below without reconnecting.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [api, shell]);

  useEffect(() => {
    if (termRef.current) termRef.current.options.theme = THEMES[theme];
  }, [theme]);

  useEffect(() => {
    if (termRef.current) termRef.current.options.disableStdin = readOnly;
  }, [readOnly]);

  useEffect(() => {
    if (visible) {
      fitRef.current?.fit();
      termRef.current?.focus();
    }
  }, [visible]);

  return <div className="xterm-host" ref={host} data-testid={testId} hidden={!visible} />;
}
