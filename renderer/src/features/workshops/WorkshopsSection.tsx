import { useEffect, useState } from 'react';
import { api } from '../../api/client';
import { EmptyState } from '../../components/EmptyState';
import { ProgressBar } from '../../components/ProgressBar';
import { useWorkshops } from './store';
import { TraineeView } from './TraineeView';
import { download } from './download';
import { TrainerPanel } from './TrainerPanel';
import { confirmInApp } from '../../components/ConfirmDialog';

const TRAINEE_KEY = 'hlab.trainee';

export function WorkshopsSection() {
  const { workshops, sessions, issues, open, busy, refresh, show, call } = useWorkshops();
  const [trainee, setTrainee] = useState(() => localStorage.getItem(TRAINEE_KEY) ?? '');

  useEffect(() => {
    void refresh(api());
    return api().on('workshops.changed', () => void refresh(api()));
  }, [refresh]);

  if (open) return <TraineeView />;

  const start = async (workshop: string) => {
    localStorage.setItem(TRAINEE_KEY, trainee);
    const s = await call(api(), `Starting ${workshop}`, 'workshops.start', {
      workshop,
      ...(trainee.trim() ? { trainee: trainee.trim() } : {}),
    });
    if (s) await show(api(), s.progress.machine);
  };

  const exportAs = async (machine: string, format: 'json' | 'html') => {
    const r = await call(api(), `Exporting ${machine}`, 'workshops.export', { machine, format });
    if (r) download(r.filename, r.content, format === 'json' ? 'application/json' : 'text/html');
  };

  return (
    <section aria-labelledby="Workshops-h">
      <h2 id="Workshops-h">Workshops</h2>
      {busy && !busy.label.startsWith('Starting ') && (
        <div className="toolbar">
          <ProgressBar progress={busy.progress} label={busy.label} startedAt={busy.startedAt} />
          <button onClick={busy.cancel}>Cancel</button>
        </div>
      )}
      {issues.length > 0 && (
        <ul className="issues" aria-label="Workshop file problems">
          {issues.map((i) => (
            <li key={`${i.file}:${i.line}:${i.path}`}>
              <code>
                {i.file}:{i.line}
              </code>{' '}
              {i.path}: {i.message}
            </li>
          ))}
        </ul>
      )}
      {sessions.length > 0 && (
        <>
          <h3>Your sessions</h3>
          <table aria-label="Workshop sessions">
            <thead>
              <tr>
                <th>workshop</th>
                <th>trainee</th>
                <th>machine</th>
                <th>passed</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {sessions.map((s) => (
                <tr key={s.machine}>
                  <td>{s.workshopTitle}</td>
                  <td>{s.trainee}</td>
                  <td>
                    <code>{s.machine}</code>
                  </td>
                  <td>
                    {s.challenges.filter((c) => c.status === 'passed').length}/{s.challenges.length}
                  </td>
                  <td className="actions">
                    <button
                      disabled={Boolean(busy)}
                      onClick={() =>
                        void call(api(), `Resuming ${s.machine}`, 'workshops.start', {
                          workshop: s.workshop,
                          machine: s.machine,
                        }).then((r) => r && show(api(), s.machine))
                      }
                    >
                      Continue
                    </button>
                    <button onClick={() => void exportAs(s.machine, 'json')}>Export JSON</button>
                    <button onClick={() => void exportAs(s.machine, 'html')}>Export HTML</button>
                    <button
                      disabled={Boolean(busy)}
                      onClick={() =>
                        void confirmInApp(
                          `End the session on ${s.machine}? Its machine is destroyed and its progress forgotten.`,
                          { confirm: 'End', danger: true },
                        ).then(
                          (yes) =>
                            yes &&
                            void call(api(), `Ending ${s.machine}`, 'workshops.end', { machine: s.machine }),
                        )
                      }
                    >
                      End
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
      <TrainerPanel />
      <h3>Start a workshop</h3>
      <div className="toolbar">
        <label>
          Trainee name{' '}
          <input
            value={trainee}
            onChange={(e) => setTrainee(e.target.value)}
            placeholder="your name"
            maxLength={64}
          />
        </label>
      </div>
      {workshops.length === 0 && <EmptyState title="No workshops">No workshop files were found.</EmptyState>}
      <div className="cards">
        {workshops.map((w) => (
          <article key={w.id} className="card" aria-label={w.title}>
            <h4>{w.title}</h4>
            {w.description && <p>{w.description}</p>}
            <p className="muted">
              {w.audience} · {w.durationMinutes} min · {w.challenges.length} challenges · {w.base}
            </p>
            {busy?.label === `Starting ${w.id}` ? (
              // Progress where the user pressed, not at the top of a page scrolled out of view.
              <div className="toolbar" data-testid={`starting-${w.id}`}>
                <ProgressBar progress={busy.progress} label={busy.label} startedAt={busy.startedAt} />
                <button onClick={busy.cancel}>Cancel</button>
              </div>
            ) : (
              <button
                disabled={Boolean(busy) || sessions.some((s) => s.workshop === w.id)}
                onClick={() => void start(w.id)}
              >
                Start {w.id}
              </button>
            )}
          </article>
        ))}
      </div>
    </section>
  );
}
