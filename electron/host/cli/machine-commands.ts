/** `hlab providers|image|machine|snapshot|exec|ssh`: machines, their images and snapshots, and a shell on them. */
import { HlabError } from '../../../shared/errors.js';
import { imageSeeding, type ProviderKind } from '../../../shared/types.js';
import { formatBytes, table } from './output.js';
import { type CliKit, type Command } from './router.js';
import { interactiveShell } from './shell.js';
import { egressCommands } from './egress-commands.js';
import { hostCommands } from './host-commands.js';
import { execCommand, parseIntFlag } from './flags.js';

export function machineCommands(kit: CliKit): Command[] {
  const { call, print } = kit;
  return [
    {
      path: ['providers', 'list'],
      summary: 'List VM providers and whether they can run here',
      run: async (ctx) => {
        const list = await call(ctx, 'providers.list', {});
        return print(ctx, list, () =>
          [
            table(
              list.map((p) => ({
                ...p,
                available: p.available ? 'yes' : 'no',
                'live-snapshots': p.capabilities.liveSnapshot,
                reboot: p.capabilities.reboot,
                'egress-filter': p.capabilities.egressFilter,
              })),
              ['kind', 'available', 'version', 'live-snapshots', 'reboot', 'egress-filter', 'reason'],
            ),
            '',
            ...list.map(
              (p) =>
                `${p.kind} guests: ${p.network ?? (p.capabilities.egressFilter ? 'filtered' : "not filtered (the hypervisor's own NAT)")}`,
            ),
          ].join('\n'),
        );
      },
    },
    {
      path: ['image', 'build'],
      summary: 'Build the base image from Debian packages (cached; --force rebuilds)',
      options: { name: { type: 'string' }, force: { type: 'boolean' } },
      run: async (ctx) => {
        const img = await call(ctx, 'images.build', {
          name: ctx.values.name as string | undefined,
          force: ctx.values.force === true,
        });
        return print(
          ctx,
          img,
          () => `${img.name}: ${img.path} (${formatBytes(img.sizeBytes)}, kernel ${img.kernel})`,
        );
      },
    },
    {
      path: ['image', 'pull'],
      args: '[NAME]',
      arity: [0, 1],
      summary: "Download Debian's official cloud image and verify it against SHA512SUMS",
      options: { from: { type: 'string' } },
      run: async (ctx) => {
        const img = await call(ctx, 'images.pull', {
          name: ctx.positionals[0] ?? 'debian-12',
          baseUrl: ctx.values.from as string | undefined,
        });
        return print(
          ctx,
          img,
          () =>
            `${img.name}: ${img.path} (${formatBytes(img.sizeBytes)}, verified against SHA512SUMS; machines from it are seeded through cloud-init)`,
        );
      },
    },
    {
      path: ['image', 'list'],
      summary: 'List base images',
      run: async (ctx) => {
        const list = await call(ctx, 'images.list', {});
        return print(ctx, list, () =>
          table(
            list.map((i) => ({
              ...i,
              size: formatBytes(i.sizeBytes),
              sha256: i.sha256.slice(0, 12),
              seeding: imageSeeding(i),
            })),
            ['name', 'kernel', 'size', 'source', 'seeding', 'builtAt', 'sha256'],
          ),
        );
      },
    },
    {
      path: ['machine', 'create'],
      args: 'NAME',
      arity: [1, 1],
      summary:
        'Create a machine (an overlay of the base image; --ready: running in seconds from a ready template)',
      options: {
        provider: { type: 'string' },
        image: { type: 'string' },
        memory: { type: 'string' },
        cpus: { type: 'string' },
        'ssh-port': { type: 'string' },
        host: { type: 'string' },
        ready: { type: 'boolean' },
      },
      run: async (ctx) => {
        const m = await call(ctx, 'machines.create', {
          ...(ctx.values.ready === true ? { ready: true } : {}),
          name: ctx.positionals[0] as string,
          provider: ctx.values.provider as ProviderKind | undefined,
          image: ctx.values.image as string | undefined,
          memoryMiB: parseIntFlag(ctx.values.memory, 'memory'),
          cpus: parseIntFlag(ctx.values.cpus, 'cpus'),
          sshPort: parseIntFlag(ctx.values['ssh-port'], 'ssh-port'),
          ...(typeof ctx.values.host === 'string' ? { host: ctx.values.host } : {}),
        });
        return print(
          ctx,
          m,
          () =>
            `created ${m.name} (${m.provider}, ${m.image}, ${m.memoryMiB} MiB, ${m.cpus} CPU)${m.host ? ` on lab server ${m.host}` : ''}`,
        );
      },
    },
    {
      path: ['machine', 'add'],
      args: 'NAME',
      arity: [1, 1],
      summary:
        'Add a machine you already have: --provider vagrant --dir PATH [--vm default], or --provider libvirt --host H --vm DOMAIN --ssh-user U --ssh-key FILE',
      options: {
        provider: { type: 'string' },
        dir: { type: 'string' },
        vm: { type: 'string' },
        host: { type: 'string' },
        'ssh-user': { type: 'string' },
        'ssh-key': { type: 'string' },
      },
      run: async (ctx) => {
        const m = await call(ctx, 'machines.add', {
          name: ctx.positionals[0] as string,
          provider: (ctx.values.provider as ProviderKind | undefined) ?? 'vagrant',
          dir: ctx.values.dir as string | undefined,
          vm: ctx.values.vm as string | undefined,
          ...(typeof ctx.values.host === 'string' ? { host: ctx.values.host } : {}),
          sshUser: ctx.values['ssh-user'] as string | undefined,
          sshKeyFile: ctx.values['ssh-key'] as string | undefined,
        });
        return print(ctx, m, () => `added ${m.name} (${m.provider}, ${m.location ?? m.image}, ${m.state})`);
      },
    },
    ...(['up', 'down'] as const).map((verb): Command => ({
      path: ['machine', verb],
      args: 'NAME',
      arity: [1, 1],
      summary:
        verb === 'up'
          ? 'Start a machine and wait until SSH answers'
          : 'Shut a machine down (ACPI, then kill)',
      options: verb === 'down' ? { force: { type: 'boolean' } } : {},
      run: async (ctx) => {
        const name = ctx.positionals[0] as string;
        const m =
          verb === 'up'
            ? await call(ctx, 'machines.up', { name })
            : await call(ctx, 'machines.down', { name, force: ctx.values.force === true });
        return print(
          ctx,
          m,
          () => `${m.name}: ${m.state}${m.ssh ? ` (ssh ${m.ssh.user}@${m.ssh.host}:${m.ssh.port})` : ''}`,
        );
      },
    })),
    {
      path: ['machine', 'rm'],
      args: 'NAME',
      arity: [1, 1],
      summary: 'Destroy a machine and its disk',
      run: async (ctx) => {
        const r = await call(ctx, 'machines.destroy', { name: ctx.positionals[0] as string });
        return print(ctx, r, () => `destroyed ${r.destroyed}`);
      },
    },
    {
      path: ['machine', 'list'],
      summary: 'List the machines of every provider with their live state and snapshots',
      run: async (ctx) => {
        const list = await call(ctx, 'machines.list', { snapshots: true });
        return print(ctx, list, () =>
          table(
            list.map((m) => ({
              ...m,
              ssh: m.ssh ? `${m.ssh.user}@${m.ssh.host}:${m.ssh.port}` : undefined,
              memory: m.memoryMiB ? `${m.memoryMiB} MiB` : undefined,
              cpus: m.cpus || undefined,
              snapshots: m.snapshots?.length ? m.snapshots.join(' ') : undefined,
            })),
            ['name', 'provider', 'state', 'image', 'memory', 'cpus', 'ssh', 'network', 'snapshots'],
          ),
        );
      },
    },
    ...egressCommands(call, print),
    ...hostCommands(call, print),
    {
      path: ['snapshot', 'take'],
      args: 'NAME SNAP',
      arity: [2, 2],
      summary: 'Take a snapshot (live when the machine runs)',
      run: async (ctx) => {
        const [machine, snapshot] = ctx.positionals as [string, string];
        const s = await call(ctx, 'snapshots.take', { machine, snapshot });
        return print(ctx, s, () => `took ${s.live ? 'live' : 'offline'} snapshot ${s.name} of ${machine}`);
      },
    },
    {
      path: ['snapshot', 'restore'],
      args: 'NAME SNAP',
      arity: [2, 2],
      summary: 'Restore a snapshot (the machine keeps running when it is live)',
      run: async (ctx) => {
        const [machine, snapshot] = ctx.positionals as [string, string];
        const s = await call(ctx, 'snapshots.restore', { machine, snapshot });
        return print(ctx, s, () => `restored ${s.name} on ${machine}`);
      },
    },
    {
      path: ['snapshot', 'rm'],
      args: 'NAME SNAP',
      arity: [2, 2],
      summary: 'Delete a snapshot',
      run: async (ctx) => {
        const [machine, snapshot] = ctx.positionals as [string, string];
        const r = await call(ctx, 'snapshots.remove', { machine, snapshot });
        return print(ctx, r, () => `deleted snapshot ${r.removed} of ${machine}`);
      },
    },
    {
      path: ['snapshot', 'list'],
      args: 'NAME',
      arity: [1, 1],
      summary: 'List the snapshots of a machine',
      run: async (ctx) => {
        const list = await call(ctx, 'snapshots.list', { machine: ctx.positionals[0] as string });
        return print(ctx, list, () =>
          table(
            list.map((s) => ({
              ...s,
              kind: s.live ? 'live' : 'disk',
              'vm-state': s.vmStateBytes ? formatBytes(s.vmStateBytes) : '-',
            })),
            ['name', 'kind', 'vm-state', 'createdAt'],
          ),
        );
      },
    },
    {
      path: ['exec'],
      args: 'NAME -- CMD...',
      arity: [1, 1],
      summary:
        'Run a command on a machine over SSH: one argument is a shell command line, several are kept whole (exit code passed through, 128+N for signal N). The connection is kept 60 s for the next call; --fresh logs in anew',
      options: { timeout: { type: 'string' }, fresh: { type: 'boolean' } },
      run: async (ctx) => {
        if (ctx.rest.length === 0)
          throw new HlabError('bad-request', 'nothing to run: hlab exec NAME -- CMD...');
        const timeoutS = parseIntFlag(ctx.values.timeout, 'timeout');
        const r = await call(ctx, 'machines.exec', {
          machine: ctx.positionals[0] as string,
          command: execCommand(ctx.rest),
          timeoutMs: timeoutS === undefined ? undefined : timeoutS * 1000,
          ...(ctx.values.fresh === true ? { fresh: true } : {}),
        });
        if (ctx.json) ctx.stdout(JSON.stringify(r, null, 2));
        return r.exitCode;
      },
    },
    {
      path: ['ssh'],
      args: 'NAME',
      arity: [1, 1],
      summary: 'Open an interactive shell on a machine (same terminal layer as the app)',
      run: (ctx) => interactiveShell(kit.client, ctx.positionals[0] as string),
    },
  ];
}
