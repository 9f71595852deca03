/** The pieces of a trainee's screen shared by the app's workshop view and the class seat page. */
import type { CheckResult, WorkshopStatus } from '../../../../shared/workshops';
import { InlineMarkdown, Markdown } from '../../components/Markdown';

export function ChallengeList({ status }: { status?: WorkshopStatus }) {
  return (
    <ol className="challenges" aria-label="Challenges">
      {status?.progress.challenges.map((c, i) => (
        <li
          key={c.id}
          className={`challenge-${c.status}`}
          aria-current={c.status === 'current' ? 'step' : undefined}
        >
          {c.status === 'passed' ? '✓ ' : ''}
          {status.workshop.challenges[i]?.title ?? c.id}
        </li>
      ))}
    </ol>
  );
}

/** What Reset and Show me ask first: Reset is the one that loses the trainee's work. */
export const RESET_QUESTION =
  'Reset to the start of this challenge? What you changed on the machine since it began is lost.';
export const SOLVE_QUESTION = 'Run the solution? Your trainer will see that you used it.';

export interface ChallengeActions {
  check(): void;
  hint(): void;
  reset(): void;
  solve(): void;
}

/** The current challenge's page, its shown hints and the four buttons; or the end of the workshop. */
export function ChallengePage({
  status,
  busy,
  on,
}: {
  status?: WorkshopStatus;
  busy: boolean;
  on: ChallengeActions;
}) {
  const cur = status?.current;
  if (!cur) return status ? <p className="pass">Every challenge passed. Well done.</p> : null;
  return (
    <>
      <Markdown text={cur.page} />
      {cur.hints.map((h, i) => (
        <p key={i} className="hint">
          <strong>Hint {i + 1}:</strong> <InlineMarkdown text={h} />
        </p>
      ))}
      <div className="toolbar">
        <button disabled={busy} onClick={on.check}>
          Check
        </button>
        <button disabled={busy || cur.hintsLeft === 0} onClick={on.hint}>
          Hint ({cur.hintsLeft} left)
        </button>
        <button disabled={busy} onClick={on.reset}>
          Reset
        </button>
        {cur.hasSolve && (
          <button disabled={busy} onClick={on.solve}>
            Show me (solve)
          </button>
        )}
      </div>
    </>
  );
}

export function CheckResultView({ result, status }: { result?: CheckResult; status?: WorkshopStatus }) {
  if (!result) return null;
  const title = status?.workshop.challenges.find((c) => c.id === result.challenge)?.title ?? result.challenge;
  return (
    <div role="status" className={result.pass ? 'pass' : 'fail'} data-testid="check-result">
      {result.pass ? (
        <p>Passed: {title}</p>
      ) : (
        <>
          <p>Not yet:</p>
          <ul>
            {result.failures.map((f, i) => (
              <li key={i}>
                <InlineMarkdown text={f} />
              </li>
            ))}
          </ul>
        </>
      )}
    </div>
  );
}
