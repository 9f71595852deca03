import { useEffect, useState } from 'react';
import { api } from '../../api/client';
import { EmptyState } from '../../components/EmptyState';
import { ProgressBar } from '../../components/ProgressBar';
import { BENCH_TOOLS, type BenchTool } from '../../../../shared/bench';
import { useMachines } from '../machines/store';
import { useRuns } from '../runs/store';
import { ExportButtons } from '../runs/ExportButtons';
import { BenchChart } from './BenchChart';
import { ClaimsTable } from './ClaimsTable';
import { DockerBenchSource } from './DockerBenchSource';
import { LatestBench } from './LatestBench';
import { SurfaceTable } from './SurfaceTable';
import { VulnsTable } from './VulnsTable';
import { useBench } from './store';
import { TableHead } from '../../components/TableHead';

export function BenchSection() {
  const { history, refresh } = useRuns();
  const { machines } = useMachines();
  const { runId, comparisons, claims, vulns, surface, latest, busy, loadRun, benchNow } = useBench();
  const [tool, setTool] = useState<BenchTool>('checks');
  const [machine, setMachine] = useState('');
  const [profile, setProfile] = useState('');
  useEffect(() => {
    void refresh(api());
  }, [refresh]);
  useEffect(() => {
    const first = history.find((h) => h.status !== 'running');
    if (!runId && first) void loadRun(api(), first.id);
  }, [history, runId, loadRun]);
  const running = machines.filter((m) => m.state === 'running');
  // While a bench runs, the form shows that bench's machine and tool, not what was picked before.
  const m = busy?.machine ?? (running.some((x) => x.name === machine) ? machine : (running[0]?.name ?? ''));
  const shownTool = busy?.tool ?? tool;
  const flips = comparisons.flatMap((c) => [
    ...c.regressions.map((f) => ({ ...f, tool: c.tool, regression: true, accepted: undefined })),
    ...c.accepted.map((f) => ({ ...f, tool: c.tool, regression: false, accepted: f })),
    ...c.fixed.map((f) => ({ ...f, tool: c.tool, regression: false, accepted: undefined })),
  ]);
  return (
    <section aria-labelledby="bench-h">
      <h2 id="bench-h">Bench</h2>
      <div className="form-row">
        <label>
          Run{' '}
          <select
            aria-label="Run to compare"
            value={runId ?? ''}
            onChange={(e) => void loadRun(api(), e.target.value)}
          >
            {history.map((h) => (
              <option key={h.id} value={h.id}>
                {h.recipe} on {h.machine} — {h.status} ({new Date(h.startedAt).toLocaleString()})
              </option>
            ))}
          </select>
        </label>
      </div>
      {comparisons.length === 0 ? (
        <EmptyState title="No before/after benchmark for this run">
          Give the recipe a <code>bench</code> list ({BENCH_TOOLS.join(', ')}) in the recipe builder and run
          it.
        </EmptyState>
      ) : (
        <>
          <BenchChart comparisons={comparisons} />
          {vulns.length > 0 && <VulnsTable phases={vulns} />}
          {surface && <SurfaceTable before={surface.before} after={surface.after} />}
          <h3>
            Flipped tests: {flips.filter((f) => !f.regression && !f.accepted).length} fixed,{' '}
            <span className={flips.some((f) => f.regression) ? 'bad-text' : ''}>
              {flips.filter((f) => f.regression).length} regressions
            </span>
            {flips.some((f) => f.accepted) && (
              <>, {flips.filter((f) => f.accepted).length} accepted by exceptions</>
            )}
          </h3>
          <table className="list" data-testid="flipped-tests">
            <TableHead columns={['Tool', 'Test', 'Change']} />
            <tbody>
              {flips.map((f) => (
                <tr key={`${f.tool}-${f.id}`} className={f.regression ? 'regression' : ''}>
                  <td>{f.tool}</td>
                  <td>
                    <code>{f.id}</code> {f.title && <span className="muted">{f.title}</span>}
                  </td>
                  <td>
                    <span className={f.regression ? 'flip-regression' : f.accepted ? '' : 'flip-fixed'}>
                      {f.from} → {f.to}
                    </span>{' '}
                    {f.regression && <strong>regression</strong>}
                    {f.accepted && (
                      <span className="muted" title={f.accepted.reason}>
                        {' '}
                        accepted: exception <code>{f.accepted.exception}</code> — {f.accepted.reason}
                      </span>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <ClaimsTable claims={claims} />
          {runId && <ExportButtons runId={runId} />}
        </>
      )}
      <h3>Bench a machine now</h3>
      <div className="form-row">
        <select
          aria-label="Machine to bench"
          value={m}
          disabled={Boolean(busy)}
          onChange={(e) => setMachine(e.target.value)}
        >
          {running.map((x) => (
            <option key={x.name}>{x.name}</option>
          ))}
        </select>
        <select
          aria-label="Bench tool"
          value={shownTool}
          disabled={Boolean(busy)}
          onChange={(e) => setTool(e.target.value as BenchTool)}
        >
          {BENCH_TOOLS.map((t) => (
            <option key={t}>{t}</option>
          ))}
        </select>
        {busy ? (
          <>
            <ProgressBar progress={busy.progress} label={busy.label} startedAt={busy.startedAt} />
            <button onClick={busy.cancel}>Cancel</button>
          </>
        ) : (
          <button disabled={!m} onClick={() => void benchNow(api(), m, tool, { profile: profile.trim() })}>
            Run bench
          </button>
        )}
      </div>
      {busy?.lastLine && (
        <p className="muted bench-line" data-testid="bench-line">
          <code>{busy.lastLine}</code>
        </p>
      )}
      {shownTool === 'docker-bench' && <DockerBenchSource />}
      {shownTool === 'openscap' && (
        <div className="form-row">
          <input
            aria-label="SSG profile"
            placeholder="SSG profile, e.g. standard (empty: the rules the step library claims)"
            value={profile}
            onChange={(e) => setProfile(e.target.value)}
          />
          <span className="muted">
            OpenSCAP with the SCAP Security Guide content for Debian 12 (ssg-debian from the Debian mirror,
            cached by version).
          </span>
        </div>
      )}
      {shownTool === 'vulns' && (
        <p className="muted">
          vulns lists the updates this machine&apos;s apt offers but has not applied, and the CVE ids their
          Debian changelogs name (the running kernel against the newest image of its flavour). Changelogs are
          kept on this host by package and version, so a second run downloads nothing.
        </p>
      )}
      {shownTool === 'surface' && (
        <p className="muted">
          surface counts what the machine exposes: installed packages, SUID/SGID files, listening sockets,
          enabled and running services, loaded modules, accounts that can log in, world-writable system paths
          and writable disk mounts. Fewer is better.
        </p>
      )}
      {shownTool === 'kube-node' && (
        <p className="muted">
          kube-node runs the Kubernetes node checks of labs/kube/ (kube-bench&apos;s format): the kernel
          settings kubelet expects, the container runtime&apos;s files, and the CIS kubelet items — not
          applicable when no kubelet is there.
        </p>
      )}
      {shownTool === 'docker-config' && (
        <p className="muted">
          docker-config measures the daemon as it runs (docker info, the default bridge, probe containers) for
          docker-bench&apos;s daemon checks; it needs no download.
        </p>
      )}
      {latest && (
        <p data-testid="bench-latest">
          {latest.tool} on {latest.machine}
          {latest.lowerIsBetter ? '' : ' (the whole machine, not one recipe’s checks)'}:{' '}
          <strong>
            {latest.lowerIsBetter ? `${latest.score} ${latest.unit ?? ''}` : `${latest.score}/${latest.max}`}
          </strong>{' '}
          — {latest.tests.filter((t) => t.result === 'fail').length} failing tests, {latest.warnings.length}{' '}
          warnings
        </p>
      )}
      {latest?.surface && <SurfaceTable after={latest.surface} />}
      {latest?.vulns && <VulnsTable phases={[{ name: 'now', report: latest.vulns }]} />}
      {latest && <LatestBench result={latest} />}
    </section>
  );
}
