import { useEffect, useState } from 'react';
import { api } from '../../api/client';
import { ProgressBar } from '../../components/ProgressBar';
import { TableHead } from '../../components/TableHead';
import { BENCH_TOOLS, type BenchResult, type BenchTool } from '../../../../shared/bench';
import { changeLine, scopeLabel, sinceEarlier } from '../../../../shared/bench-history';
import { plural } from '../../../../shared/words';
import { useMachines } from '../machines/store';
import { BenchChart } from './BenchChart';
import { DockerBenchSource } from './DockerBenchSource';
import { FlippedTests } from './FlippedTests';
import { LatestBench } from './LatestBench';
import { SurfaceTable } from './SurfaceTable';
import { VulnsTable } from './VulnsTable';
import { useBench } from './store';

const HISTORY_ROWS = 8;
const when = (at: string) => new Date(at).toLocaleString();
/** Short enough for the chart's label column: a named subset, or the whole machine. */
const chartScope = (r: BenchResult) =>
  r.meta.tests ? plural(r.meta.tests.split(' ').length, 'named test') : 'whole machine';
const scoreOf = (r: BenchResult) => (r.lowerIsBetter ? `${r.score} ${r.unit ?? ''}` : `${r.score}/${r.max}`);

/** "Bench a machine now": the form, the result, what changed since the same bench last ran, and the earlier ones. */
export function BenchNow() {
  const { machines } = useMachines();
  const { latest, busy, benchNow, history, loadHistory, showResult } = useBench();
  const [tool, setTool] = useState<BenchTool>('checks');
  const [machine, setMachine] = useState('');
  const [profile, setProfile] = useState('');
  const running = machines.filter((m) => m.state === 'running');
  // While a bench runs, the form shows that bench's machine and tool, not what was picked before.
  const m = busy?.machine ?? (running.some((x) => x.name === machine) ? machine : (running[0]?.name ?? ''));
  const shownTool = busy?.tool ?? tool;
  useEffect(() => {
    void loadHistory(api(), m);
  }, [m, loadHistory]);
  const earlier = history
    .filter((r) => r.machine === m && r.tool === shownTool)
    .sort((a, b) => b.at.localeCompare(a.at))
    .slice(0, HISTORY_ROWS);
  const since = latest ? sinceEarlier(history, latest) : undefined;
  return (
    <>
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
      <ToolNotes tool={shownTool} profile={profile} setProfile={setProfile} />
      {latest && (
        <p data-testid="bench-latest">
          {latest.tool} on {latest.machine} ({scopeLabel(latest)}): <strong>{scoreOf(latest)}</strong> —{' '}
          {plural(latest.tests.filter((t) => t.result === 'fail').length, 'failing test')},{' '}
          {plural(latest.warnings.length, 'warning')} <span className="muted">({when(latest.at)})</span>
        </p>
      )}
      {latest && !since && (
        <p className="muted" data-testid="bench-since">
          The first {latest.tool} bench of this scope on {latest.machine}: the next one is compared with it.
        </p>
      )}
      {since && (
        <div data-testid="bench-since">
          <p>
            Since the {latest?.tool} bench of {when(since.earlier.at)}:{' '}
            <strong>{changeLine(since.comparison)}</strong>
          </p>
          <BenchChart
            comparisons={[since.comparison]}
            labels={{ before: 'earlier', after: 'now' }}
            scope={chartScope(since.earlier)}
          />
          <FlippedTests comparisons={[since.comparison]} testId="bench-now-flips" />
        </div>
      )}
      {latest?.surface && <SurfaceTable after={latest.surface} />}
      {latest?.vulns && <VulnsTable phases={[{ name: 'now', report: latest.vulns }]} />}
      {latest && <LatestBench result={latest} />}
      {earlier.length > 0 && (
        <div data-testid="bench-history">
          <h4>
            Earlier {shownTool} benches on {m} ({earlier.length}
            {earlier.length === HISTORY_ROWS ? ', the newest' : ''})
          </h4>
          <table className="list">
            <TableHead columns={['When', 'Measured', 'Score', 'Failing', '']} />
            <tbody>
              {earlier.map((r) => (
                <tr key={r.at}>
                  <td>{when(r.at)}</td>
                  <td className="muted">{scopeLabel(r)}</td>
                  <td>{scoreOf(r)}</td>
                  <td>{r.tests.filter((t) => t.result === 'fail').length}</td>
                  <td>
                    {r === latest || r.at === latest?.at ? (
                      <span className="muted">shown</span>
                    ) : (
                      <button onClick={() => showResult(r)}>Show</button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

/** What the picked tool measures, and the OpenSCAP profile field. */
function ToolNotes({
  tool,
  profile,
  setProfile,
}: {
  tool: BenchTool;
  profile: string;
  setProfile: (p: string) => void;
}) {
  switch (tool) {
    case 'docker-bench':
      return <DockerBenchSource />;
    case 'openscap':
      return (
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
      );
    case 'vulns':
      return (
        <p className="muted">
          vulns lists the updates this machine&apos;s apt offers but has not applied, and the CVE ids their
          Debian changelogs name (the running kernel against the newest image of its flavour). Changelogs are
          kept on this host by package and version, so a second run downloads nothing.
        </p>
      );
    case 'surface':
      return (
        <p className="muted">
          surface counts what the machine exposes: installed packages, SUID/SGID files, listening sockets,
          enabled and running services, loaded modules, accounts that can log in, world-writable system paths
          and writable disk mounts. Fewer is better.
        </p>
      );
    case 'kube-node':
      return (
        <p className="muted">
          kube-node runs the Kubernetes node checks of labs/kube/ (kube-bench&apos;s format): the kernel
          settings kubelet expects, the container runtime&apos;s files, and the CIS kubelet items — not
          applicable when no kubelet is there.
        </p>
      );
    case 'docker-config':
      return (
        <p className="muted">
          docker-config measures the daemon as it runs (docker info, the default bridge, probe containers) for
          docker-bench&apos;s daemon checks; it needs no download.
        </p>
      );
    default:
      return null;
  }
}
