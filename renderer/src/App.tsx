import { useEffect } from 'react';
import { api } from './api/client';
import { useConnection } from './features/connection/store';
import { MachinesSection } from './features/machines/MachinesSection';
import { useNav } from './features/navigation';
import { SECTIONS } from './features/sections';
import { TerminalSection } from './features/terminal/TerminalSection';
import { StepsSection } from './features/steps/StepsSection';
import { RunsSection } from './features/runs/RunsSection';
import { BenchSection } from './features/bench/BenchSection';
import { Toasts } from './features/toasts/Toasts';
import { ConfirmDialog } from './components/ConfirmDialog';
import { WorkshopsSection } from './features/workshops/WorkshopsSection';
import { EventsSection } from './features/events/EventsSection';
import { ClassSection } from './features/class/ClassSection';

function ConnectionStatus() {
  const { state, detail } = useConnection();
  return (
    <div className={`conn conn-${state}`} data-testid="connection" title={detail}>
      <span className="dot" aria-hidden /> {state}
    </div>
  );
}

export function App() {
  const { section, go, theme, toggleTheme } = useNav();
  useEffect(() => {
    api();
  }, []);
  useEffect(() => {
    document.documentElement.dataset.theme = theme;
  }, [theme]);

  return (
    <div className="app">
      <nav className="sidebar" aria-label="Sections">
        <h1 className="brand">Hardening Lab</h1>
        {SECTIONS.map((s) => (
          <button
            key={s}
            className={s === section ? 'active' : ''}
            aria-current={s === section ? 'page' : undefined}
            onClick={() => go(s)}
          >
            {s}
          </button>
        ))}
        <div className="spacer" />
        <button onClick={toggleTheme} aria-label="Toggle theme">
          {theme === 'dark' ? 'Light theme' : 'Dark theme'}
        </button>
        <ConnectionStatus />
      </nav>
      <main>
        {section === 'Machines' && <MachinesSection />}
        {/* Kept mounted while hidden so open shells survive switching sections. */}
        <div hidden={section !== 'Terminal'}>
          <TerminalSection />
        </div>
        {section === 'Steps' && <StepsSection />}
        {section === 'Runs' && <RunsSection />}
        {section === 'Bench' && <BenchSection />}
        {section === 'Events' && <EventsSection />}
        {section === 'Workshops' && <WorkshopsSection />}
        {section === 'Class' && <ClassSection />}
      </main>
      <Toasts />
      <ConfirmDialog />
    </div>
  );
}
