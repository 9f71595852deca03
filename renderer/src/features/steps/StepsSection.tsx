import { useEffect, useMemo, useState } from 'react';
import { api } from '../../api/client';
import { EmptyState } from '../../components/EmptyState';
import { RISKS, STEP_AREAS, type ParamDef, type ParamValue, type StepDef } from '../../../../shared/steps';
import { formatIssue } from '../../../../shared/steps';
import { draftToYaml, recipeToDraft, runRecipeNext, useSteps } from './store';
import { TableHead } from '../../components/TableHead';
import { InlineMarkdown } from '../../components/Markdown';
import { BENCH_TOOLS } from '../../../../shared/bench';

export function StepDetails({ step }: { step: StepDef }) {
  const ids = Object.entries(step.benchmarks).filter(([, v]) => v.length);
  return (
    <div className="panel" data-testid="step-details">
      <h3>{step.title}</h3>
      <p className="muted">
        <code>{step.id}</code> · area {step.area} · risk{' '}
        <span className={`risk risk-${step.risk}`}>{step.risk}</span>
        {step.reboot && ' · reboots'}
        {step.snapshotOnlyRollback && ' · snapshot-only rollback'}
      </p>
      {step.description && (
        <p>
          <InlineMarkdown text={step.description} />
        </p>
      )}
      {ids.length > 0 && (
        <p>
          {ids.map(([tool, v]) => (
            <span key={tool} className="chip">
              {tool}: {v.join(', ')}
            </span>
          ))}
        </p>
      )}
      {Object.keys(step.params).length > 0 && (
        <table className="list">
          <thead>
            <tr>
              <th>Parameter</th>
              <th>Type</th>
              <th>Default</th>
              <th>Meaning</th>
            </tr>
          </thead>
          <tbody>
            {Object.entries(step.params).map(([k, p]) => (
              <tr key={k}>
                <td>
                  <code>{k}</code>
                </td>
                <td>{p.type}</td>
                <td>
                  <code>{JSON.stringify(p.default)}</code>
                </td>
                <td>
                  <InlineMarkdown text={p.description ?? ''} />
                  {p.standards && (
                    <ul className="muted" data-testid={`standards-${k}`}>
                      {Object.entries(p.standards).map(([std, ok]) => (
                        <li key={std}>
                          {std}: {ok.map(String).join(' or ')}
                        </li>
                      ))}
                    </ul>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h4>Apply (runs as root)</h4>
      <pre className="script" data-testid="step-script">
        {step.apply}
      </pre>
      <h4>Verify</h4>
      <ul className="checks">
        {step.verify.map((c) => (
          <li key={c.name}>
            <strong>{c.name}</strong>{' '}
            {c.probe ? <span className="chip">probe {c.probe}</span> : <pre className="script">{c.run}</pre>}
          </li>
        ))}
      </ul>
    </div>
  );
}

function ParamInput({
  def,
  value,
  onChange,
  label,
}: {
  def: ParamDef;
  value: ParamValue;
  onChange: (v: ParamValue) => void;
  label: string;
}) {
  if (def.type === 'boolean')
    return (
      <input
        type="checkbox"
        aria-label={label}
        checked={value === true}
        onChange={(e) => onChange(e.target.checked)}
      />
    );
  if (def.type === 'integer')
    return (
      <input
        type="number"
        aria-label={label}
        value={String(value)}
        min={def.min}
        max={def.max}
        onChange={(e) => onChange(Number(e.target.value))}
      />
    );
  if (def.type === 'list')
    return (
      <input
        aria-label={label}
        value={Array.isArray(value) ? value.join(' ') : String(value)}
        onChange={(e) => onChange(e.target.value.split(/\s+/).filter(Boolean))}
      />
    );
  return <input aria-label={label} value={String(value)} onChange={(e) => onChange(e.target.value)} />;
}

function RecipeBuilder() {
  const {
    steps,
    recipes,
    draft,
    draftIssues,
    draftChecked,
    setDraft,
    moveStep,
    removeStep,
    setParam,
    validate,
  } = useSteps();
  const byId = useMemo(() => new Map(steps.map((s) => [s.id, s])), [steps]);
  const [exc, setExc] = useState({ id: '', step: '', reason: '', tests: '' });
  return (
    <div className="panel" data-testid="recipe-builder" id="recipe-builder">
      <h3>Recipe builder</h3>
      <div className="form-row">
        <label>
          Start from{' '}
          <select
            aria-label="Start from recipe"
            value=""
            onChange={(e) => {
              const r = recipes.find((x) => x.id === e.target.value);
              if (r) setDraft(recipeToDraft(r));
            }}
          >
            <option value="">—</option>
            {recipes.map((r) => (
              <option key={r.id} value={r.id}>
                {r.id}
              </option>
            ))}
          </select>
        </label>
        <label>
          Id{' '}
          <input aria-label="Recipe id" value={draft.id} onChange={(e) => setDraft({ id: e.target.value })} />
        </label>
        <label>
          Title{' '}
          <input
            aria-label="Recipe title"
            value={draft.title}
            onChange={(e) => setDraft({ title: e.target.value })}
          />
        </label>
        <label>
          On failure{' '}
          <select
            aria-label="On failure"
            value={draft.onFailure}
            onChange={(e) => setDraft({ onFailure: e.target.value as 'stop' | 'continue' })}
          >
            <option value="stop">stop</option>
            <option value="continue">continue</option>
          </select>
        </label>
        <label>
          <input
            type="checkbox"
            checked={draft.finalReboot}
            onChange={(e) => setDraft({ finalReboot: e.target.checked })}
          />{' '}
          final reboot
        </label>
        {BENCH_TOOLS.map((t) => (
          <label key={t}>
            <input
              type="checkbox"
              aria-label={`bench ${t}`}
              checked={draft.bench.includes(t)}
              onChange={(e) =>
                setDraft({
                  bench: e.target.checked ? [...draft.bench, t] : draft.bench.filter((x) => x !== t),
                })
              }
            />{' '}
            {t}
          </label>
        ))}
      </div>
      {draft.steps.length === 0 ? (
        <p className="muted">Add steps from the library with its “+ Add” buttons.</p>
      ) : (
        <ol className="draft-steps" data-testid="draft-steps">
          {draft.steps.map((s, i) => {
            const def = byId.get(s.step);
            return (
              <li key={`${s.step}-${i}`}>
                <strong>{def?.title ?? s.step}</strong> <code>{s.step}</code>
                <span className="actions">
                  <button aria-label={`Move ${s.step} up`} onClick={() => moveStep(i, -1)} disabled={i === 0}>
                    ↑
                  </button>
                  <button
                    aria-label={`Move ${s.step} down`}
                    onClick={() => moveStep(i, 1)}
                    disabled={i === draft.steps.length - 1}
                  >
                    ↓
                  </button>
                  <button aria-label={`Remove ${s.step}`} onClick={() => removeStep(i)}>
                    Remove
                  </button>
                </span>
                {def && Object.keys(def.params).length > 0 && (
                  <div className="params">
                    {Object.entries(def.params).map(([k, p]) => (
                      <label key={k}>
                        {k}{' '}
                        <ParamInput
                          label={`${s.step} ${k}`}
                          def={p}
                          value={s.params[k] ?? p.default}
                          onChange={(v) => setParam(i, k, v)}
                        />
                      </label>
                    ))}
                  </div>
                )}
              </li>
            );
          })}
        </ol>
      )}
      <details>
        <summary>Container-host exceptions ({draft.exceptions.length})</summary>
        <ul>
          {draft.exceptions.map((e) => (
            <li key={e.id}>
              <code>{e.id}</code> {e.step && <>({e.step})</>}: {e.reason}{' '}
              {e.tests?.length ? <span className="muted">accepts {e.tests.join(', ')} </span> : null}
              <button onClick={() => setDraft({ exceptions: draft.exceptions.filter((x) => x.id !== e.id) })}>
                Remove
              </button>
            </li>
          ))}
        </ul>
        <div className="form-row">
          <input
            aria-label="Exception id"
            placeholder="id"
            value={exc.id}
            onChange={(e) => setExc({ ...exc, id: e.target.value })}
          />
          <select
            aria-label="Exception step"
            value={exc.step}
            onChange={(e) => setExc({ ...exc, step: e.target.value })}
          >
            <option value="">(whole recipe)</option>
            {draft.steps.map((s) => (
              <option key={s.step} value={s.step}>
                {s.step}
              </option>
            ))}
          </select>
          <input
            aria-label="Exception reason"
            placeholder="why this is accepted"
            value={exc.reason}
            onChange={(e) => setExc({ ...exc, reason: e.target.value })}
          />
          <input
            aria-label="Bench tests the exception accepts"
            placeholder="accepted bench test ids (optional)"
            value={exc.tests}
            onChange={(e) => setExc({ ...exc, tests: e.target.value })}
          />
          <button
            disabled={!exc.id || !exc.reason}
            onClick={() => {
              setDraft({
                exceptions: [
                  ...draft.exceptions,
                  {
                    id: exc.id,
                    reason: exc.reason,
                    ...(exc.step ? { step: exc.step } : {}),
                    ...(exc.tests.trim() ? { tests: exc.tests.trim().split(/[\s,]+/) } : {}),
                  },
                ],
              });
              setExc({ id: '', step: '', reason: '', tests: '' });
            }}
          >
            Add exception
          </button>
        </div>
      </details>
      <div className="form-row">
        <button onClick={() => void validate(api(), false)}>Validate</button>
        <button
          className="primary"
          onClick={() => void validate(api(), true)}
          disabled={draft.steps.length === 0}
          title="Saved in your data folder ($HLAB_HOME/recipes), never in the app's own files"
        >
          Save to my recipes
        </button>
        {draftChecked === 'valid' && (
          <span className="pass" role="status" data-testid="draft-valid">
            ✓ Valid: {draft.steps.length} {draft.steps.length === 1 ? 'step' : 'steps'}, every parameter
            accepted
          </span>
        )}
        {recipes.some((r) => r.id === draft.id) && (
          <button onClick={() => runRecipeNext(draft.id)}>Run on a machine…</button>
        )}
      </div>
      {draftIssues.length > 0 && (
        <ul className="issues" role="alert">
          {draftIssues.map((i) => (
            <li key={formatIssue(i)}>{formatIssue(i)}</li>
          ))}
        </ul>
      )}
      <details>
        <summary>YAML</summary>
        <pre className="script">{draftToYaml(draft)}</pre>
      </details>
    </div>
  );
}

/** Always in view at the bottom of the library: what the recipe holds, and a way to it. */
function RecipeTray() {
  const { draft } = useSteps();
  const last = draft.steps.at(-1);
  return (
    <div className="recipe-tray" data-testid="recipe-tray" role="status">
      <strong>
        Recipe {draft.id} ({draft.steps.length})
      </strong>
      {last && <span className="muted">last added: {last.step}</span>}
      <button
        className="link"
        onClick={() => document.getElementById('recipe-builder')?.scrollIntoView({ behavior: 'smooth' })}
      >
        Edit recipe ▾
      </button>
    </div>
  );
}

export function StepsSection() {
  const { steps, issues, loaded, load, addStep, draft } = useSteps();
  const [area, setArea] = useState('');
  const [risk, setRisk] = useState('');
  const [selected, setSelected] = useState<string | undefined>();
  useEffect(() => {
    void load(api());
  }, [load]);
  const shown = steps.filter((s) => (!area || s.area === area) && (!risk || s.risk === risk));
  const current = steps.find((s) => s.id === selected);
  return (
    <section aria-labelledby="steps-h">
      <h2 id="steps-h">Steps &amp; recipes</h2>
      {issues.length > 0 && (
        <ul className="issues" role="alert">
          {issues.map((i) => (
            <li key={formatIssue(i)}>{formatIssue(i)}</li>
          ))}
        </ul>
      )}
      <div className="form-row">
        <label>
          Area{' '}
          <select aria-label="Filter by area" value={area} onChange={(e) => setArea(e.target.value)}>
            <option value="">all</option>
            {STEP_AREAS.map((a) => (
              <option key={a}>{a}</option>
            ))}
          </select>
        </label>
        <label>
          Risk{' '}
          <select aria-label="Filter by risk" value={risk} onChange={(e) => setRisk(e.target.value)}>
            <option value="">all</option>
            {RISKS.map((r) => (
              <option key={r}>{r}</option>
            ))}
          </select>
        </label>
        <span className="muted">
          {shown.length} of {steps.length} steps
        </span>
      </div>
      {loaded && steps.length === 0 && (
        <EmptyState title="No steps found">The labs/steps folder is empty or unreadable.</EmptyState>
      )}
      <div className="two-col">
        <table className="list" data-testid="step-list">
          <TableHead columns={['Step', 'Area', 'Risk', '']} />
          <tbody>
            {shown.map((s) => (
              <tr key={s.id} className={s.id === selected ? 'selected' : ''}>
                <td>
                  <button className="link" onClick={() => setSelected(s.id)}>
                    {s.title}
                  </button>
                  <div className="muted">
                    <code>{s.id}</code>
                  </div>
                </td>
                <td>{s.area}</td>
                <td>
                  <span className={`risk risk-${s.risk}`}>{s.risk}</span>
                  {s.reboot && <span className="chip">reboot</span>}
                </td>
                <td>
                  <button aria-label={`Add ${s.id} to recipe`} onClick={() => addStep(s)}>
                    {draft.steps.some((d) => d.step === s.id) ? '✓ Added' : '+ Add'}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {current ? (
          <StepDetails step={current} />
        ) : (
          <EmptyState title="Pick a step">Its script, checks and benchmark ids show here.</EmptyState>
        )}
      </div>
      <RecipeTray />
      <RecipeBuilder />
    </section>
  );
}
