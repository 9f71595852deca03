import { FitAddon } from '@xterm/addon-fit';
import { Terminal } from '@xterm/xterm';
import '@xterm/xterm/css/xterm.css';
import { useEffect, useRef } from 'react';
import { api } from '../../api/client';
import { useNav } from '../navigation';
import { bindTerminal } from './session';
import { useTerminals } from './store';

const THEMES = {
  dark: { background: '#0f1115', foreground: '#e6e9ef', cursor: '#5aa9ff', selectionBackground: '#2b4a6f' },
  light: { background: '#ffffff', foreground: '#1c2027', cursor: '#0b63ce', selectionBackground: '#cfe3ff' },
};

export function TerminalView({
  tabKey,
  machine,
  visible,
}: {
  tabKey: number;
  machine: string;
  visible: boolean;
}) {
  const host = useRef<HTMLDivElement>(null);
  const fitRef = useRef<FitAddon | undefined>(undefined);
  const termRef = useRef<Terminal | undefined>(undefined);
  const setState = useTerminals((s) => s.setState);
  const theme = useNav((s) => s.theme);

  useEffect(() => {
    if (!host.current) return;
    const term = new Terminal({
      fontFamily: "'DejaVu Sans Mono', monospace",
      fontSize: 14,
      cursorBlink: true,
      scrollback: 5000,
      theme: THEMES[useNav.getState().theme],
    });
    const fit = new FitAddon();
    term.loadAddon(fit);
    term.open(host.current);
    fit.fit();
    termRef.current = term;
    fitRef.current = fit;
    const unbind = bindTerminal(api(), term, machine, {
      onState: (s, reason) => setState(tabKey, s, reason),
    });
    const observer = new ResizeObserver(() => {
      if (host.current?.offsetParent) fit.fit();
    });
    observer.observe(host.current);
    return () => {
      observer.disconnect();
      unbind();
      term.dispose();
    };
  }, [machine, tabKey, setState]);

  useEffect(() => {
    if (termRef.current) termRef.current.options.theme = THEMES[theme];
  }, [theme]);

  useEffect(() => {
    if (visible) {
      fitRef.current?.fit();
      termRef.current?.focus();
    }
  }, [visible]);

  return <div className="xterm-host" ref={host} data-testid={`terminal-${tabKey}`} hidden={!visible} />;
}
