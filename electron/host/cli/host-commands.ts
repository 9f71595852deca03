/** `hlab hosts …`: the lab servers libvirt machines are placed on. */
import type { LabHostInfo } from '../../../shared/types.js';
import { UsageError, type Call, type Command, type Print } from './router.js';

export function hostLine(h: LabHostInfo): string {
  const what = h.reachable
    ? [
        `libvirt ${h.libvirtVersion ?? '?'}`,
        `QEMU ${h.qemuVersion ?? '?'}`,
        h.accel.toUpperCase(),
        h.packageProxy ? 'package proxy' : 'guests isolated',
        `${h.cpus ?? '?'} CPU`,
        `${h.freeMiB ?? '?'}/${h.memoryMiB ?? '?'} MiB free`,
      ].join(', ')
    : `UNREACHABLE: ${h.error ?? 'no answer'}`;
  return `${h.name.padEnd(12)} ${h.uri}\n${' '.repeat(13)}${what}; machines: ${h.machines.join(', ') || 'none'}`;
}

export function hostCommands(call: Call, print: Print): Command[] {
  return [
    {
      path: ['hosts', 'list'],
      arity: [0, 0],
      summary:
        'Lab servers (libvirt) and what each has now: reachable, versions, KVM or TCG, CPUs, free memory, machines',
      run: async (ctx) => {
        const hosts = await call(ctx, 'hosts.list', {});
        return print(ctx, hosts, () =>
          hosts.length
            ? hosts.map(hostLine).join('\n')
            : 'No lab servers yet; add one with: hlab hosts add NAME --uri URI',
        );
      },
    },
    {
      path: ['hosts', 'add'],
      args: 'NAME',
      arity: [1, 1],
      summary:
        'Register a lab server: --uri qemu+ssh://USER@HOST/system [--key FILE] [--accel auto|kvm|tcg] (pins its SSH host key)',
      options: {
        uri: { type: 'string' },
        key: { type: 'string' },
        accel: { type: 'string' },
        'package-proxy': { type: 'boolean' },
      },
      run: async (ctx) => {
        if (typeof ctx.values.uri !== 'string')
          throw new UsageError('--uri is required (qemu+ssh://USER@HOST/system)');
        const accel = ctx.values.accel as string | undefined;
        if (accel !== undefined && accel !== 'auto' && accel !== 'kvm' && accel !== 'tcg')
          throw new UsageError(`--accel must be auto, kvm or tcg (got "${accel}")`);
        const h = await call(ctx, 'hosts.add', {
          name: ctx.positionals[0] as string,
          uri: ctx.values.uri,
          ...(typeof ctx.values.key === 'string' ? { keyFile: ctx.values.key } : {}),
          ...(accel ? { accel } : {}),
          ...(ctx.values['package-proxy'] === true ? { packageProxy: true } : {}),
        });
        return print(ctx, h, () =>
          [
            `added lab server ${h.name}${h.hostKey ? ` (host key ${h.hostKey} pinned)` : ''}`,
            hostLine(h),
          ].join('\n'),
        );
      },
    },
    {
      path: ['hosts', 'rm'],
      args: 'NAME',
      arity: [1, 1],
      summary: 'Remove a lab server (--forget: also forget its machines; their domains stay on the server)',
      options: { forget: { type: 'boolean' } },
      run: async (ctx) => {
        const r = await call(ctx, 'hosts.remove', {
          name: ctx.positionals[0] as string,
          ...(ctx.values.forget === true ? { forget: true } : {}),
        });
        return print(
          ctx,
          r,
          () =>
            `removed lab server ${r.removed}${r.forgot.length ? `; forgot machines ${r.forgot.join(', ')}` : ''}`,
        );
      },
    },
    {
      path: ['hosts', 'key'],
      arity: [0, 0],
      summary: "The app's public key for lab servers: put it in the lab user's ~/.ssh/authorized_keys",
      run: async (ctx) => {
        const k = await call(ctx, 'hosts.key', {});
        return print(ctx, k, () => k.publicKey);
      },
    },
  ];
}
