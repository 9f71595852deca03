import { EmptyState } from '../components/EmptyState';
import type { Section } from './sections';

/** What each not-yet-built section will do, and what the user can already do instead. */
const PLANNED: Record<Extract<Section, 'Workshops'>, { what: string; now: string }> = {
  Workshops: {
    what: 'Guided labs for trainees with checks and one-click reset.',
    now: 'Machines and snapshots already work for a manual lab.',
  },
};

export function PlannedSection({ section }: { section: Extract<Section, 'Workshops'> }) {
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
