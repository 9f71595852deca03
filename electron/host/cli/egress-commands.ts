/** `hlab machine egress`: what a machine's guest may reach through the app's package proxy. */
import type { EgressPolicy } from '../../../shared/types.js';
import { UsageError, type Call, type Command, type Print } from './router.js';

export function egressText(p: EgressPolicy): string {
  if (p.network === 'isolated')
    return `${p.machine}: isolated. The guest reaches nothing at all, not even a package mirror (its lab server was added without --package-proxy).`;
  if (p.network === 'open')
    return `${p.machine}: open NAT networking (made before the egress filter; recreate it to filter). Its guest reaches the host's loopback as 10.0.2.2.`;
  const recent = p.recent.filter((e) => e.verdict !== 'allowed');
  return [
    `${p.machine}: filtered. The guest reaches nothing but the package proxy ${p.proxy} (apt is set to use it; there is no DNS).`,
    `  Debian's mirrors: ${p.defaults.join(' ')}`,
    `  this machine's own: ${p.allow.length ? p.allow.join(' ') : '(none; add with: hlab machine egress ' + p.machine + ' allow HOST:PORT)'}`,
    ...(recent.length
      ? [
          '  refused lately:',
          ...recent.map(
            (e) => `    ${e.time}  ${e.method ?? ''} ${e.target ?? ''}  ${e.reason ?? e.verdict}`,
          ),
        ]
      : []),
  ].join('\n');
}

export function egressCommands(call: Call, print: Print): Command[] {
  return [
    {
      path: ['machine', 'egress'],
      args: 'NAME [allow|remove HOST:PORT...]',
      arity: [1, 66],
      summary:
        "Show or change what a machine's guest may reach (the package proxy's allow list; 10.0.2.2:PORT is a port on this host)",
      run: async (ctx) => {
        const [name, verb, ...entries] = ctx.positionals as [string, string | undefined, ...string[]];
        if (verb !== undefined && verb !== 'allow' && verb !== 'remove')
          throw new UsageError(`expected "allow" or "remove" after the machine name (got "${verb}")`);
        if (verb && entries.length === 0) throw new UsageError(`"${verb}" needs at least one HOST:PORT`);
        const p = await call(ctx, 'machines.egress', {
          name,
          ...(verb === 'allow' ? { allow: entries } : {}),
          ...(verb === 'remove' ? { remove: entries } : {}),
        });
        return print(ctx, p, () => egressText(p));
      },
    },
  ];
}
