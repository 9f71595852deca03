/** `hlab events ...`: login events of a machine, and the SIEM destinations they are forwarded to. */
import { readFileSync } from 'node:fs';
import type { AuthEvent, DestinationState, EventsView } from '../../../shared/events.js';
import { HlabError } from '../../../shared/errors.js';
import { stripControls } from '../../../shared/guest-text.js';
import { table } from './output.js';
import { UsageError, type Call, type Command, type Print } from './router.js';

/** One line per event; every field is guest text, printed without its control characters. */
export function eventLine(e: AuthEvent): string {
  return stripControls(rawEventLine(e));
}

function rawEventLine(e: AuthEvent): string {
  const who = e.user ? ` ${e.user}` : '';
  const from = e.sourceIp ? ` from ${e.sourceIp}${e.sourcePort ? `:${e.sourcePort}` : ''}` : '';
  const how = e.method
    ? ` (${e.method}${e.operator ? ', this app' : ''})`
    : e.command
      ? ` ${e.command}${e.operator ? ' (this app)' : ''}`
      : '';
  return `${e.time.slice(0, 19).replace('T', ' ')}  ${e.outcome === 'failure' ? 'FAIL' : 'ok  '}  ${e.action}${who}${from}${how}`;
}

function forwardText(states: DestinationState[]): string[] {
  return states.map((s) =>
    stripControls(
      `→ ${s.sink}: ${s.backlog ? `${s.backlog} waiting` : 'nothing waiting'}${s.dropped ? `, ${s.dropped} dropped (the queue is full)` : ''}${s.lastError ? ` (${s.lastError})` : ''}`,
    ),
  );
}

function viewText(v: EventsView): string {
  return [
    ...(v.sshdLogLevel && !/^(VERBOSE|DEBUG\d?)$/.test(v.sshdLogLevel)
      ? [
          `note: sshd on ${v.machine} logs at ${v.sshdLogLevel}: failed key attempts are not logged (sshd-hardening logLevel: VERBOSE)`,
        ]
      : []),
    ...v.events.map(eventLine),
    ...forwardText(v.forward),
  ].join('\n');
}

export function eventCommands(call: Call, print: Print): Command[] {
  return [
    {
      path: ['events'],
      args: 'MACHINE',
      arity: [1, 1],
      summary:
        'Login events of a machine (sshd, sudo, sessions), read from its journal and forwarded to SIEMs [--follow] [--stored]',
      options: { follow: { type: 'boolean', short: 'f' }, stored: { type: 'boolean' } },
      run: async (ctx) => {
        const machine = ctx.positionals[0] as string;
        if (ctx.values.stored) {
          const v = await call(ctx, 'events.list', { machine });
          return print(ctx, v, () => viewText(v));
        }
        for (;;) {
          const v = await call(ctx, 'events.collect', { machine });
          if (ctx.json) ctx.stdout(JSON.stringify(v));
          else {
            const text = ctx.values.follow ? v.events.map(eventLine).join('\n') : viewText(v);
            if (text) ctx.stdout(text);
          }
          if (!ctx.values.follow) return 0;
          // Polling keeps one short SSH call per interval, and retries forwarding each time.
          await new Promise<void>((resolve) => {
            const t = setTimeout(resolve, 2000);
            ctx.signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
          });
          if (ctx.signal.aborted) return 0;
        }
      },
    },
    {
      path: ['events', 'forward', 'list'],
      summary: 'SIEM destinations and how many events wait for each (tokens are never shown)',
      run: async (ctx) => {
        const list = await call(ctx, 'events.destinations', {});
        return print(ctx, list, () =>
          list.length
            ? table(
                list.map((d) => ({
                  ...d,
                  machines: d.machines?.join(' ') ?? 'all',
                  token: d.hasToken ? 'set' : '',
                  warning: d.warning ?? '',
                })),
                ['id', 'kind', 'target', 'machines', 'token', 'warning'],
              )
            : 'No SIEM destinations: hlab events forward add syslog HOST:PORT | hec URL --token-file FILE',
        );
      },
    },
    {
      path: ['events', 'forward', 'add'],
      args: 'syslog HOST:PORT | hec URL',
      arity: [2, 2],
      summary:
        'Forward login events: syslog over TCP (RFC 5424, octet counting) or Splunk HEC (token from --token-file or HLAB_HEC_TOKEN)',
      options: {
        'token-file': { type: 'string' },
        index: { type: 'string' },
        machine: { type: 'string', multiple: true },
      },
      run: async (ctx) => {
        const [kind, target] = ctx.positionals as [string, string];
        if (kind !== 'syslog' && kind !== 'hec')
          throw new UsageError('hlab events forward add syslog HOST:PORT | hec URL --token-file FILE');
        let token: string | undefined;
        if (kind === 'hec') {
          const file = ctx.values['token-file'];
          if (typeof file === 'string') {
            try {
              token = readFileSync(file, 'utf8').trim();
            } catch (err) {
              throw new HlabError(
                'not-found',
                `Cannot read the token file ${file}: ${(err as Error).message}`,
              );
            }
          } else token = process.env.HLAB_HEC_TOKEN;
          // Never on the command line: it would land in shell history and process listings.
          if (!token) throw new UsageError('hec needs --token-file FILE (or HLAB_HEC_TOKEN)');
        }
        const machines = ctx.values.machine as string[] | undefined;
        const d = await call(ctx, 'events.forward.add', {
          kind,
          target,
          ...(token ? { token } : {}),
          ...(typeof ctx.values.index === 'string' ? { index: ctx.values.index } : {}),
          ...(machines?.length ? { machines } : {}),
        });
        return print(
          ctx,
          d,
          () =>
            `added ${d.id}: ${d.kind} ${d.target}${d.hasToken ? ' (token set)' : ''}${d.warning ? `\nwarning: ${d.warning}` : ''}`,
        );
      },
    },
    {
      path: ['events', 'forward', 'rm'],
      args: 'ID',
      arity: [1, 1],
      summary: 'Remove a SIEM destination (and the events still waiting for it)',
      run: async (ctx) => {
        const r = await call(ctx, 'events.forward.remove', { id: ctx.positionals[0] as string });
        return print(ctx, r, () => `removed ${r.removed}`);
      },
    },
  ];
}
