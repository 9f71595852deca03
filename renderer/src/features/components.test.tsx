/** Components rendered to markup (no DOM needed): what the user reads in each new section. */
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import type { StepDef } from '../../../shared/steps';
import { BenchChart } from './bench/BenchChart';
import { ClaimsTable } from './bench/ClaimsTable';
import { StepCard } from './runs/RunsSection';
import { StepDetails } from './steps/StepsSection';
import { MachineNameField, ProviderOptions, machineNameProblem } from './machines/formParts';
import { formatElapsed } from '../components/Elapsed';
import { HostCheckView } from './machines/HostCheck';
import { LatestBench } from './bench/LatestBench';
import { VulnsTable } from './bench/VulnsTable';

describe('run timeline card', () => {
  it('shows a rolled-back step with the failure and what was restored', () => {
    const html = renderToStaticMarkup(
      <StepCard
        row={{
          index: 1,
          step: 'demo-sshd-lockout',
          title: 'Demo lockout',
          phase: 'done',
          outcome: 'rolled-back',
          reason: 'health probe fresh-ssh-login failed: refused',
          snapshot: 'hlab-abc-1',
          log: 'reloading\n',
          checks: [{ name: 'fresh login', pass: false, output: 'SSH key login refused' }],
          rollback: { healthy: true, durationMs: 4800 },
          durationMs: 9000,
        }}
      />,
    );
    expect(html).toContain('ROLLED BACK');
    expect(html).toContain('Restored snapshot <code>hlab-abc-1</code>');
    expect(html).toContain('4.8 s — healthy');
    expect(html).toContain('✗ fresh login');
    expect(html).toContain('SSH key login refused');
  });
  it('shows a validated step with its checks and reboot', () => {
    const html = renderToStaticMarkup(
      <StepCard
        row={{
          index: 0,
          step: 'kernel-upgrade',
          phase: 'done',
          outcome: 'validated',
          rebootKernel: '6.1.0-56-cloud-amd64',
          log: 'x',
          checks: [{ name: 'newest kernel', pass: true, output: '' }],
        }}
      />,
    );
    expect(html).toContain('validated');
    expect(html).toContain('rebooted into 6.1.0-56-cloud-amd64');
    expect(html).not.toContain('ROLLED BACK');
  });
});

describe('bench chart', () => {
  it('draws one before and one after bar per tool, scaled to its maximum', () => {
    const html = renderToStaticMarkup(
      <BenchChart
        comparisons={[
          {
            tool: 'lynis',
            before: { score: 50, max: 100 },
            after: { score: 75, max: 100 },
            delta: 25,
            fixed: [],
            regressions: [],
            accepted: [],
          },
          {
            tool: 'checks',
            before: { score: 2, max: 4 },
            after: { score: 4, max: 4 },
            delta: 2,
            fixed: [],
            regressions: [],
            accepted: [],
          },
        ]}
      />,
    );
    // Two bars each, and one swatch each in the legend.
    expect(html.match(/class="before"/g)).toHaveLength(3);
    expect(html.match(/class="after"/g)).toHaveLength(3);
    expect(html).toMatch(/>before<\/text>.*>after<\/text>/s);
    expect(html).toContain('75/100 (+25)');
    // The scope is in the label: a recipe's checks, not the tool's full set (ux review I-11).
    expect(html).toContain('recipe&#x27;s 4');
    expect(html).toContain('the recipe&#x27;s tests');
    const widths = [...html.matchAll(/class="(before|after)" x="120" y="\d+" width="(\d+)"/g)].map((m) =>
      Number(m[2]),
    );
    expect(widths[1]).toBe(widths[0]! * 1.5);
    expect(widths[3]).toBe(widths[1]! * (4 / 3));
  });

  it('draws a count of fixable CVEs on one scale, a drop as the improvement, with the rows behind it', () => {
    const html = renderToStaticMarkup(
      <BenchChart
        comparisons={[
          {
            tool: 'vulns',
            before: { score: 2952, max: 2952 },
            after: { score: 0, max: 0 },
            delta: -2952,
            fixed: [],
            regressions: [],
            accepted: [],
            lowerIsBetter: true,
            unit: 'fixable CVEs',
          },
        ]}
      />,
    );
    expect(html).toContain('0 fixable CVEs (-2952, fewer is better)');
    const widths = [...html.matchAll(/class="(before|after)" x="120" y="\d+" width="(\d+)"/g)].map((m) =>
      Number(m[2]),
    );
    expect(widths).toEqual([340, 2]);
    const kernel = {
      release: '6.1.0-47-cloud-amd64',
      running: '6.1.170-3',
      cves: ['CVE-2026-1'],
      entries: 1,
    };
    const rows = renderToStaticMarkup(
      <VulnsTable
        phases={[
          {
            name: 'before',
            report: {
              kernel: {
                ...kernel,
                newest: { package: 'linux-image-6.1.0-56-cloud-amd64', version: '6.1.192-2' },
              },
              packages: [
                {
                  source: 'expat',
                  binaries: ['libexpat1'],
                  installed: '2.5.0-1',
                  candidate: '2.5.0-1+deb12u5',
                  cves: ['CVE-2026-2', 'CVE-2026-3'],
                  entries: 2,
                },
              ],
              distinct: 3,
            },
          },
        ]}
      />,
    );
    expect(rows).toContain(
      'running 6.1.170-3, newest linux-image-6.1.0-56-cloud-amd64 6.1.192-2, 1 CVEs fixed in between',
    );
    expect(rows).toContain('2 CVE ids');
    expect(rows).toContain('a lower bound');
  });
});

describe('step claims table', () => {
  it('shows fixed counts, regressions, rolled-back steps and what was not measured', () => {
    const html = renderToStaticMarkup(
      <ClaimsTable
        claims={[
          {
            step: 'kernel-sysctl',
            outcome: 'validated',
            tool: 'lynis',
            claimed: ['KRNL-6000'],
            fixed: [{ id: 'KRNL-6000:kernel.kptr_restrict', from: 'fail', to: 'pass' }],
            regressions: [],
            unchanged: [],
            newlyMeasured: [],
            unmeasured: [],
          },
          {
            step: 'apparmor-enforce',
            outcome: 'rolled-back',
            tool: 'lynis',
            claimed: ['MACF-6208'],
            fixed: [],
            regressions: [{ id: 'MACF-6208', from: 'pass', to: 'fail' }],
            unchanged: [],
            newlyMeasured: [],
            unmeasured: ['MACF-6208'],
          },
        ]}
      />,
    );
    expect(html).toContain('data-testid="step-claims"');
    expect(html).toContain('(rolled-back)');
    expect(html).toContain('1 regressions');
    expect(html.match(/class="regression"/g)).toHaveLength(1);
    expect(renderToStaticMarkup(<ClaimsTable claims={[]} />)).toBe('');
  });
});

describe('step details', () => {
  it('shows risk, benchmark ids, parameters and the exact scripts', () => {
    const step: StepDef = {
      id: 'sshd-hardening',
      title: 'SSH hardening',
      area: 'ssh',
      risk: 'lockout',
      reboot: false,
      snapshotOnlyRollback: false,
      conflicts: [],
      benchmarks: {
        lynis: ['SSH-7408'],
        'cis-debian': ['5.2.4'],
        'docker-bench': [],
        ssg: ['sshd_set_max_auth_tries'],
      },
      params: {
        maxAuthTries: {
          type: 'integer',
          default: 4,
          description: 'tries',
          standards: { 'SSG sshd_set_max_auth_tries': [4], 'Lynis SSH-7408': [2, 3] },
        },
      },
      apply: 'sshd -t && systemctl reload ssh',
      verify: [
        { name: 'effective config', run: 'sshd -T | grep -q "maxauthtries 4"' },
        { name: 'root refused', probe: 'root-login-refused' },
      ],
      file: 'labs/steps/sshd-hardening.yaml',
    };
    const html = renderToStaticMarkup(<StepDetails step={step} />);
    expect(html).toContain('risk-lockout');
    expect(html).toContain('lynis: SSH-7408');
    expect(html).not.toContain('docker-bench:');
    expect(html).toContain('maxAuthTries');
    expect(html).toContain('ssg: sshd_set_max_auth_tries');
    expect(html).toMatch(/data-testid="standards-maxAuthTries".*Lynis SSH-7408: 2 or 3/);
    expect(html).toContain('sshd -t &amp;&amp; systemctl reload ssh');
    expect(html).toContain('probe root-login-refused');
  });
});

describe('snapshot restore confirmation', () => {
  it('names what is lost and which later snapshots are kept', async () => {
    const { restoreWarning } = await import('./machines/SnapshotPanel');
    const snaps = [
      { name: 'clean', live: true, createdAt: '2026-11-23T10:00:00Z' },
      { name: 'after-sshd', live: true, createdAt: '2026-11-23T11:00:00Z' },
    ];
    const text = restoreWarning('lab1', snaps[0]!, snaps);
    expect(text).toMatch(/Restore "clean" .* on lab1\?/);
    expect(text).toContain(
      'Lost: every change made on lab1 since then, its running processes and open terminals.',
    );
    expect(text).toContain('Kept: the later snapshot "after-sshd".');
    expect(restoreWarning('lab1', snaps[1]!, snaps)).not.toContain('Kept');
  });
});

describe('machine forms', () => {
  it('offer each provider with its availability and the reason when it is unavailable', () => {
    const html = renderToStaticMarkup(
      <select>
        <ProviderOptions
          providers={[
            { kind: 'vagrant', available: true, reason: undefined },
            { kind: 'virtualbox', available: false, reason: 'VirtualBox is not installed' },
          ]}
        />
      </select>,
    );
    expect(html).toContain('<option value="vagrant" title="">vagrant</option>');
    expect(html).toMatch(
      /<option value="virtualbox" disabled="" title="VirtualBox is not installed">virtualbox \(unavailable: VirtualBox is not installed\)<\/option>/,
    );
  });
});

describe('a machine name as it is typed', () => {
  it('says what is wrong next to the field, and nothing while it is fine or empty', () => {
    expect(machineNameProblem('', [])).toBeUndefined();
    expect(machineNameProblem('lab1', ['lab2'])).toBeUndefined();
    expect(machineNameProblem('lab1', ['lab1'])).toBe('A machine named "lab1" already exists.');
    expect(machineNameProblem('My Lab!', [])).toMatch(/^The name must be a name of letters, digits/);
    expect(machineNameProblem('x'.repeat(64), [])).toBe('The name has at most 63 characters (got 64).');
    const html = renderToStaticMarkup(
      <MachineNameField value="My Lab!" onChange={() => undefined} placeholder="lab1" />,
    );
    expect(html).toContain('aria-invalid="true"');
    expect(html).toMatch(/<span id="[^"]+" class="field-error" role="alert">The name must be/);
    expect(html).not.toContain('bad-request');
    const fine = renderToStaticMarkup(
      <MachineNameField value="lab1" onChange={() => undefined} placeholder="lab1" />,
    );
    expect(fine).not.toContain('field-error');
    expect(fine).not.toContain('aria-invalid');
  });
  it('elapsed time reads as seconds, then minutes and seconds', () => {
    expect(formatElapsed(400)).toBe('0 s');
    expect(formatElapsed(16_900)).toBe('16 s');
    expect(formatElapsed(185_000)).toBe('3 min 05 s');
  });
});

describe('host check card', () => {
  it('opens with the fix for what is missing when the host is not ready', () => {
    const html = renderToStaticMarkup(
      <HostCheckView
        report={{
          os: 'Debian GNU/Linux 12 (bookworm)',
          ready: false,
          imagePath: 'pull',
          imagePathWhy: 'building the base image needs root',
          checks: [
            {
              id: 'qemu',
              title: 'QEMU',
              ok: false,
              need: 'required',
              detail: 'not found',
              fix: 'sudo apt-get install -y qemu-system-x86',
            },
            { id: 'vagrant', title: 'Vagrant', ok: false, need: 'optional', detail: 'not found' },
            { id: 'disk', title: 'Free space', ok: true, need: 'required', detail: '60 GiB free' },
          ],
        }}
      />,
    );
    expect(html).toMatch(/<details[^>]*open/);
    expect(html).toContain('not ready');
    expect(html).toContain('✗ QEMU: not found — <code>sudo apt-get install -y qemu-system-x86</code>');
    expect(html).toContain('○ Vagrant');
    expect(html).toContain('✓ Free space: 60 GiB free');
  });
  it('folds to one line when ready', () => {
    const html = renderToStaticMarkup(
      <HostCheckView
        report={{ os: 'Debian', ready: true, imagePath: 'have', imagePathWhy: 'here', checks: [] }}
      />,
    );
    expect(html).not.toMatch(/<details[^>]*open/);
    expect(html).toContain('Host check: ready');
  });
});

describe('a bench run now', () => {
  it('lists failures first, and the files of a local docker-bench copy with their hashes', () => {
    const html = renderToStaticMarkup(
      <LatestBench
        result={{
          tool: 'docker-bench',
          machine: 'm1',
          at: '2026-11-24T00:00:00Z',
          score: 0,
          max: 2,
          tests: [
            { id: '2.2', title: 'icc', result: 'pass' },
            {
              id: '5.5',
              title: 'privileged',
              result: 'fail',
              details: 'Containers running in privileged mode: /x',
            },
          ],
          warnings: [],
          suggestions: [],
          meta: { source: 'local copy' },
          inputs: [{ path: 'tests/5_container_runtime.sh', sha256: 'ab'.repeat(32), bytes: 812 }],
        }}
      />,
    );
    expect(html.indexOf('5.5')).toBeLessThan(html.indexOf('2.2'));
    expect(html).toContain('Containers running in privileged mode: /x');
    expect(html).toContain('1 files it ran');
    expect(html).toContain('ab'.repeat(32));
  });
});

describe('events section', () => {
  it('filters by outcome, the app’s own logins and text, and warns when sshd would not log failed keys', async () => {
    const { applyFilter } = await import('./events/store');
    const { EventsView } = await import('./events/EventsSection');
    const base = {
      time: '2026-11-24T10:00:00.000001Z',
      machine: 'lab1',
      hostname: 'lab1',
      process: 'sshd',
      sourceIp: '10.0.2.2',
    };
    const events = [
      {
        ...base,
        id: 'a',
        action: 'ssh_login' as const,
        outcome: 'success' as const,
        user: 'lab',
        method: 'publickey',
        operator: true,
        raw: 'Accepted publickey for lab',
      },
      {
        ...base,
        id: 'b',
        action: 'ssh_invalid_user' as const,
        outcome: 'failure' as const,
        user: '<b>bob</b>',
        raw: 'Invalid user <b>bob</b>',
      },
    ];
    const f = { outcome: 'all' as const, hideOperator: false, text: '' };
    expect(applyFilter(events, f).map((e) => e.id)).toEqual(['a', 'b']);
    expect(applyFilter(events, { ...f, outcome: 'failure' }).map((e) => e.id)).toEqual(['b']);
    expect(applyFilter(events, { ...f, hideOperator: true }).map((e) => e.id)).toEqual(['b']);
    expect(applyFilter(events, { ...f, text: 'BOB' }).map((e) => e.id)).toEqual(['b']);
    const html = renderToStaticMarkup(
      <EventsView
        machine="lab1"
        events={events}
        filter={f}
        sshdLogLevel="INFO"
        forward={[
          {
            id: 'syslog-1',
            sink: 'syslog tcp://127.0.0.1:5514',
            backlog: 3,
            delivered: 0,
            lastError: 'ECONNREFUSED',
          },
        ]}
      />,
    );
    expect(html).toContain('data-testid="loglevel-warning"');
    expect(html).toContain('3 waiting');
    expect(html).toContain('this app');
    // Guest-controlled text stays text.
    expect(html).toContain('&lt;b&gt;bob&lt;/b&gt;');
    expect(html.indexOf('ssh_invalid_user')).toBeLessThan(html.indexOf('ssh_login<'));
  });
});
