/**
 * Turns the validated steps of an evidence bundle into things to apply to real hosts: a shell
 * script, an Ansible playbook, cloud-init user-data. They carry the exact scripts that were
 * validated (hashes included), not a re-rendering from a library that may have changed since.
 */
import YAML from 'yaml';
import type { EvidenceBundle, EvidenceStep } from '../../shared/evidence.js';
import { HlabError } from '../../shared/errors.js';
import { shQuote } from '../ssh/executor.js';

export const EXPORT_FORMATS = ['sh', 'ansible', 'cloud-init', 'html', 'evidence'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export function validatedSteps(b: EvidenceBundle): EvidenceStep[] {
  const steps = b.body.steps.filter((s) => s.outcome === 'validated');
  if (!steps.length)
    throw new HlabError(
      'vm-state',
      `Run ${b.body.run.id} has no validated step: there is nothing to export.`,
    );
  return steps;
}

const runChecks = (s: EvidenceStep) => s.checks.filter((c) => c.run) as Array<{ name: string; run: string }>;

/** A heredoc delimiter that cannot occur in the body. */
function delimiter(body: string, base: string): string {
  let d = base;
  while (body.includes(d)) d += '_X';
  return d;
}

/** `bash <<'D' SUFFIX` then the body: whatever follows the command must sit on its first line. */
function heredocRun(body: string, tag: string, suffix: string): string {
  const d = delimiter(body, `HLAB_${tag.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`);
  return `bash <<'${d}' ${suffix}\n${body}\n${d}`;
}

/**
 * Text from a step file or the guest (titles, ids, kernel strings) inside a `#` comment: a newline
 * or other control character would end the comment and turn the rest into a root command.
 */
export function commentSafe(text: unknown): string {
  // eslint-disable-next-line no-control-regex
  return String(text).replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ');
}

export function toShell(b: EvidenceBundle): string {
  const steps = validatedSteps(b);
  // Step ids go into file names and commands unquoted: only the loader's id shape is accepted.
  for (const s of steps)
    if (!/^[a-z0-9][a-z0-9._#-]{0,99}$/i.test(s.id))
      throw new HlabError(
        'bad-request',
        `Evidence step id ${JSON.stringify(s.id)} is not a step id; refusing to export it.`,
      );
  const out: string[] = [
    '#!/bin/bash',
    `# Hardening Lab export of run ${commentSafe(b.body.run.id)} (recipe ${commentSafe(b.body.recipe.id)}),`,
    `# validated on ${commentSafe(b.body.base.image)} (${commentSafe(b.body.base.sha256.slice(0, 16))}), kernel ${commentSafe(b.body.kernel.after)}.`,
    `# Evidence root ${commentSafe(b.root)}.`,
    '# Applies each step (idempotent) and stops at the first failing verify. Run as root.',
    '# Steps that need a reboot stop with exit 100: reboot, then run this script again.',
    'set -u',
    '[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 2; }',
    'STATE=/var/lib/hardening-lab',
    'mkdir -p "$STATE"',
    'verify_failed() { echo "FAILED: step $1: verify \\"$2\\"" >&2; exit 1; }',
    '',
  ];
  for (const s of steps) {
    const n = `${s.index + 1}`;
    out.push(
      `# --- step ${n}: ${commentSafe(s.id)} — ${commentSafe(s.title)} (script sha256 ${commentSafe(s.scriptSha256)})`,
    );
    out.push(`echo ${shQuote(`== step ${n}: ${commentSafe(s.id)}`)}`);
    const verifyAll = runChecks(s)
      .map((c, i) =>
        heredocRun(c.run, `${s.id}_v${i}`, `>/dev/null 2>&1 || verify_failed ${s.id} ${shQuote(c.name)}`),
      )
      .join('\n');
    if (s.reboot) {
      out.push('done_already=1');
      runChecks(s).forEach((c, i) =>
        out.push(heredocRun(c.run, `${s.id}_q${i}`, '>/dev/null 2>&1 || done_already=0')),
      );
      out.push('if [ "$done_already" = 0 ]; then');
      out.push(
        `  if [ -e "$STATE/${s.id}.applied" ]; then echo "step ${s.id} was applied but its checks fail after the reboot" >&2; exit 1; fi`,
      );
      out.push(
        heredocRun(s.script, `${s.id}_apply`, `|| { echo "FAILED: step ${s.id}: apply" >&2; exit 1; }`),
      );
      out.push(`  touch "$STATE/${s.id}.applied"`);
      out.push(`  echo "step ${s.id} needs a reboot: reboot, then run this script again" >&2`);
      out.push('  exit 100');
      out.push('fi');
    } else {
      out.push(
        heredocRun(s.script, `${s.id}_apply`, `|| { echo "FAILED: step ${s.id}: apply" >&2; exit 1; }`),
      );
    }
    out.push(verifyAll);
    out.push('');
  }
  out.push('echo "all steps applied and verified"', '');
  return out.join('\n');
}

export function toAnsible(b: EvidenceBundle): string {
  const tasks: unknown[] = [];
  for (const s of validatedSteps(b)) {
    // raw needs no Python on the host: minimal images (like our own) have none.
    tasks.push({
      name: `${s.id}: apply (sha256 ${s.scriptSha256.slice(0, 12)})`,
      'ansible.builtin.raw': s.script,
      args: { executable: '/bin/bash' },
      register: `apply_${s.index}`,
      changed_when: true,
    });
    if (s.id.startsWith('sshd') || /sshd_config/.test(s.script))
      tasks.push({
        name: `${s.id}: sshd accepts its configuration`,
        'ansible.builtin.raw': '/usr/sbin/sshd -t',
        changed_when: false,
      });
    if (s.reboot) tasks.push({ name: `${s.id}: reboot`, 'ansible.builtin.reboot': { reboot_timeout: 900 } });
    for (const c of runChecks(s))
      tasks.push({
        name: `${s.id}: verify ${c.name}`,
        'ansible.builtin.raw': c.run,
        args: { executable: '/bin/bash' },
        changed_when: false,
      });
  }
  const play = [
    {
      name: `Hardening Lab recipe ${b.body.recipe.id} (run ${b.body.run.id}, evidence root ${b.root.slice(0, 16)})`,
      hosts: 'all',
      become: true,
      gather_facts: false,
      any_errors_fatal: true,
      tasks,
    },
  ];
  return `---\n${YAML.stringify(play, { lineWidth: 0 })}`;
}

export function toCloudInit(b: EvidenceBundle): string {
  const steps = validatedSteps(b);
  const files = steps.map((s) => ({
    path: `/var/lib/hardening-lab/steps/${String(s.index + 1).padStart(2, '0')}-${s.id}.sh`,
    permissions: '0700',
    owner: 'root:root',
    content: s.script,
  }));
  const verify = steps.flatMap((s) =>
    runChecks(s).map((c, i) => ({
      path: `/var/lib/hardening-lab/verify/${String(s.index + 1).padStart(2, '0')}-${s.id}-${i + 1}.sh`,
      permissions: '0700',
      owner: 'root:root',
      content: c.run,
    })),
  );
  const config = {
    write_files: [...files, ...verify],
    runcmd: [
      [
        'bash',
        '-c',
        'set -e; for f in /var/lib/hardening-lab/steps/*.sh; do echo "hardening-lab: $f"; bash "$f"; done',
      ],
    ],
    ...(steps.some((s) => s.reboot)
      ? {
          power_state: {
            mode: 'reboot',
            message: 'hardening-lab: rebooting into the hardened configuration',
            condition: true,
          },
        }
      : {}),
  };
  return `#cloud-config\n# Hardening Lab export of run ${b.body.run.id} (recipe ${b.body.recipe.id}); verify with:\n#   for f in /var/lib/hardening-lab/verify/*.sh; do bash "$f" || echo "FAILED $f"; done\n${YAML.stringify(config, { lineWidth: 0 })}`;
}
