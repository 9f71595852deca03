import { EmptyState } from '../components/EmptyState';
import type { Section } from './sections';

/** What each not-yet-built section will do, and what the user can already do instead. */
const PLANNED: Record<Exclude<Section, 'Machines' | 'Terminal'>, { what: string; now: string }> = {
  Steps: {
    what: 'The hardening step library: kernel, modules, sysctl, sshd, audit, AppArmor, Docker.',
    now: 'Start a machine under Machines first.',
  },
  Runs: {
    what: 'Live timelines of recipe runs: snapshot, apply, verify, pass or rolled back.',
    now: 'Take a snapshot under Machines before any change.',
  },
  Bench: {
    what: 'Lynis and docker-bench before/after scores and the tests each step flipped.',
    now: 'Runs produce the evidence shown here.',
  },
  Workshops: {
    what: 'Guided labs for trainees with checks and one-click reset.',
    now: 'Machines and snapshots already work for a manual lab.',
  },
};

export function PlannedSection({ section }: { section: Exclude<Section, 'Machines' | 'Terminal'> }) {
  const p = PLANNED[section];
  return (
    <section aria-labelledby={`${section}-h`}>
      <h2 id={`${section}-h`}>{section}</h2>
      <EmptyState title={`${section} is not available in this version yet`}>
        <p>{p.what}</p>
        <p className="muted">{p.now}</p>
      </EmptyState>
    </section>
  );
}
