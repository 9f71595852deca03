/** kube-bench's check format as a labs/ file format, its test semantics, and the bench's output. */
import { describe, expect, it } from 'vitest';
import {
  compareOp,
  evaluateCheck,
  flagValue,
  pathValue,
  REGEX_INPUT_CHARS,
} from '../../electron/bench/kube-eval.js';
import { loadKubeControls, loadKubeDir } from '../../electron/bench/kube-format.js';
import { kubeScript, parseKubeOutput } from '../../electron/bench/kube.js';
import { LABS_DIR } from '../../electron/steps/load.js';
import type { KubeCheck } from '../../shared/kube.js';
import { formatIssue } from '../../shared/steps.js';

const doc = (checks: string, vars = '') =>
  `controls:\nversion: t\nid: 9\ntext: t\ntype: node\n${vars}groups:\n  - id: 9.1\n    text: g\n    checks:\n${checks}`;
const load = (text: string) => loadKubeControls('x.yaml', 'x.yaml', text);

describe('kube check files', () => {
  it('the shipped files load, with every check naming the variables its audits use', () => {
    const { controls, issues } = loadKubeDir(LABS_DIR);
    expect(issues).toEqual([]);
    expect(controls.map((c) => c.file)).toEqual([
      'labs/kube/cis-1.8-node-kubelet.yaml',
      'labs/kube/node-host.yaml',
    ]);
    const kubelet = controls[0]!.groups.flatMap((g) => g.checks);
    // Ids stay as written: 4.1.10 is not 4.1.1, and group 4.1 is "4.1".
    expect(kubelet.map((c) => c.id)).toContain('4.1.10');
    expect(controls[0]!.groups.map((g) => g.id)).toEqual(['4.1', '4.2']);
    expect(kubelet.find((c) => c.id === '4.2.1')?.needs).toEqual(['kubeletconf', 'kubeletbin']);
  });

  it('names file, line and field for what is wrong', () => {
    const bad = load(
      doc(
        [
          '      - id: 9.1.1',
          '        text: c',
          '        audit: echo',
          '        tests:',
          '          test_items:',
          '            - flag: x',
          '              compare: { op: bitmask, value: 999 }',
          '            - path: "{range .x[*]}"',
          '            - compare: { op: eq, value: 1 }',
          '        scored: true',
          '      - id: 9.1.1',
          '        text: again',
          '        type: manual',
          '        scored: false',
          '      - id: 9.1.3',
          '        text: nothing to run',
          '        scored: true',
          '',
        ].join('\n'),
      ),
    );
    expect(bad.issues.map(formatIssue)).toEqual([
      'x.yaml:15: groups[0].checks[0].tests.test_items[0]: compare.value: bitmask expects an octal mode like 600 (got "999")',
      'x.yaml:17: groups[0].checks[0].tests.test_items[1].path: expected a path like {.authentication.anonymous.enabled} (got "{range .x[*]}")',
      'x.yaml:18: groups[0].checks[0].tests.test_items[2]: a test item needs flag, path or env',
      'x.yaml:24: groups[0].checks[2]: a check needs audit and tests (or type: manual)',
    ]);
    const dup = load(
      doc(
        '      - { id: 9.1.1, text: a, type: manual, scored: false }\n      - { id: 9.1.1, text: b, type: manual, scored: false }\n',
      ),
    );
    expect(dup.issues.map(formatIssue)).toEqual([
      'x.yaml:11: groups[0].checks[1].id: "9.1.1" is already the id of the check on line 10',
    ]);
  });
});

describe("kube-bench's test semantics", () => {
  it('reads a flag as --flag=v, flag: v, --flag v (when compared) and a bare --flag', () => {
    const ps =
      '/usr/bin/kubelet --anonymous-auth=false --read-only-port 0 --rotate-certificates --config=/var/lib/kubelet/config.yaml';
    expect(flagValue(ps, '--anonymous-auth', true)).toEqual({ found: true, value: 'false' });
    expect(flagValue(ps, '--read-only-port', true)).toEqual({ found: true, value: '0' });
    expect(flagValue(ps, '--rotate-certificates', false)).toEqual({ found: true, value: 'true' });
    expect(flagValue('permissions=644', 'permissions', true)).toEqual({ found: true, value: '644' });
    expect(flagValue('authorization: Webhook', 'authorization', true)).toEqual({
      found: true,
      value: 'Webhook',
    });
    expect(flagValue(ps, '--hostname-override', false).found).toBe(false);
  });

  it('reads {.a.b} from YAML or JSON and nothing from text that is neither', () => {
    const cfg =
      'authentication:\n  anonymous:\n    enabled: false\n  x509:\n    clientCAFile: /etc/kubernetes/pki/ca.crt\nreadOnlyPort: 0\n';
    expect(pathValue(cfg, '{.authentication.anonymous.enabled}')).toBe('false');
    expect(pathValue(cfg, '{.readOnlyPort}')).toBe('0');
    expect(pathValue(cfg, '{.authorization.mode}')).toBe('');
    expect(pathValue('{"a":{"b":[1,2]}}', '{.a.b}')).toBe('[1,2]');
    expect(pathValue(': : not yaml [', '{.a}')).toBe('');
    // A key named like an Object method is just absent.
    expect(pathValue('a: 1', '{.constructor}')).toBe('');
  });

  it('compares like kube-bench: booleans without case, numbers, bitmask as "or stricter"', () => {
    expect(compareOp('eq', 'False', 'false')).toBe(true);
    expect(compareOp('gte', '5', '0')).toBe(true);
    expect(compareOp('gte', 'five', '0')).toBe(false);
    expect(compareOp('bitmask', '600', '644')).toBe(true);
    expect(compareOp('bitmask', '664', '644')).toBe(false);
    expect(compareOp('bitmask', 'rw-r--r--', '644')).toBe(false);
    expect(compareOp('nothave', 'Webhook', 'AlwaysAllow')).toBe(true);
    // A guest value is matched only up to REGEX_INPUT_CHARS: the pattern never sees the rest.
    expect(compareOp('regex', `${'a'.repeat(REGEX_INPUT_CHARS)}TAIL`, 'TAIL')).toBe(false);
    expect(compareOp('regex', 'TLS_ECDHE_RSA', '^TLS_')).toBe(true);
    expect(compareOp('valid_elements', 'a,b,', 'a,b,c')).toBe(true);
    expect(compareOp('valid_elements', 'a,d', 'a,b,c')).toBe(false);
  });

  it('takes the command line over the config file, and joins items with and/or', () => {
    const check: KubeCheck = {
      id: '4.2.4',
      text: 'read-only port off',
      scored: false,
      needs: [],
      line: 1,
      tests: {
        binOp: 'or',
        items: [
          { flag: '--read-only-port', path: '{.readOnlyPort}', set: true, compare: { op: 'eq', value: '0' } },
          { flag: '--read-only-port', path: '{.readOnlyPort}', set: false },
        ],
      },
    };
    expect(evaluateCheck(check, 'kubelet --read-only-port=10255', 'readOnlyPort: 0').pass).toBe(false);
    expect(evaluateCheck(check, 'kubelet', 'readOnlyPort: 0').pass).toBe(true);
    expect(evaluateCheck(check, 'kubelet', 'readOnlyPort: 10255').pass).toBe(false);
    expect(evaluateCheck(check, 'kubelet', 'x: 1').pass).toBe(true);
  });
});

describe('the kube-node bench', () => {
  const { controls } = loadKubeDir(LABS_DIR);

  it('one script: variables resolved in the guest, audits only for checks whose component is there', () => {
    const s = kubeScript(controls);
    expect(s).toContain("for x in '/run/docker.sock' '/var/run/docker.sock'; do if [ -e \"$x\" ]");
    expect(s).toContain("for x in 'kubelet' 'hyperkube'; do if pgrep -x \"$x\"");
    expect(s).toMatch(/if \[ -n "\$hv0_kubeletsvc" \]; then \(export kubeletsvc="\$hv0_kubeletsvc"; /);
  });

  it('reports absent components as not applicable, never as a pass; hostile output is only data', () => {
    const checks = controls.flatMap((c) => c.groups.flatMap((g) => g.checks));
    const index = (id: string) => checks.findIndex((c) => c.id === id);
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    const out = [
      ...checks
        .filter((c) => c.needs.some((n) => n.startsWith('kubelet') || n.startsWith('proxy')))
        .map((c) => `@@na|${index(c.id)}`),
      `@@audit|${index('4.2.6:vm.overcommit_memory')}|${b64('vm.overcommit_memory=0\n')}`,
      `@@audit|${index('kubeadm:ip_forward')}|${b64('net.ipv4.ip_forward=1\n')}`,
      `@@audit|${index('3.16')}|${b64('permissions=660\n')}`,
      `@@audit|${index('3.15')}|${b64('\u001b]0;owned\u0007root:root\n')}`,
      `@@audit|${index('3.18')}|not base64 at all!`,
      `@@audit|999999|${b64('x')}`,
    ].join('\n');
    const r = parseKubeOutput(out, controls, 'm1');
    const t = (id: string) => r.tests.find((x) => x.id === id)!;
    expect(t('4.1.1')).toMatchObject({ result: 'skip', details: 'not applicable (no kubelet)' });
    expect(t('4.2.1')).toMatchObject({
      result: 'skip',
      details: 'not applicable (no kubelet config, no kubelet)',
    });
    expect(t('4.2.6:vm.overcommit_memory').result).toBe('fail');
    expect(t('kubeadm:ip_forward').result).toBe('pass');
    expect(t('3.16').result).toBe('pass');
    expect(t('3.15')).toMatchObject({ result: 'fail' });
    expect(t('3.15').details).not.toContain('\u001b');
    // A line that is not ours (not base64) is not a report.
    expect(t('3.18')).toMatchObject({ result: 'skip', details: 'the audit did not report' });
    // Not reported at all (the guest printed nothing for it): skipped, not passed.
    expect(t('containerd:socket-mode')).toMatchObject({
      result: 'skip',
      details: 'the audit did not report',
    });
    expect(
      r.tests
        .filter((x) => x.result === 'pass')
        .map((x) => x.id)
        .sort(),
    ).toEqual(['3.16', 'kubeadm:ip_forward']);
    expect(r).toMatchObject({ tool: 'kube-node', score: 2 });
    expect(Number(r.meta.notApplicable)).toBe(15);
  });
});
