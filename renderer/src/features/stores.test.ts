import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { useTerminals } from './terminal/store';
import { TOAST_MS, useToasts } from './toasts/store';
import { useMachines } from './machines/store';
import { createClient, type ClientTransport } from '../../../shared/rpc';

describe('terminal tabs store', () => {
  beforeEach(() => useTerminals.setState({ tabs: [], active: undefined }));

  it('opens tabs per machine, focuses the newest and falls back when the active one closes', () => {
    const s = useTerminals.getState();
    s.open('a');
    s.open('a');
    s.open('b');
    const [t1, t2, t3] = useTerminals.getState().tabs;
    expect(useTerminals.getState().tabs.map((t) => t.machine)).toEqual(['a', 'a', 'b']);
    expect(useTerminals.getState().active).toBe(t3!.key);
    useTerminals.getState().close(t3!.key);
    expect(useTerminals.getState().active).toBe(t2!.key);
    useTerminals.getState().setState(t1!.key, 'closed', 'lost');
    expect(useTerminals.getState().tabs[0]).toMatchObject({ state: 'closed', reason: 'lost' });
  });
});

describe('machines store', () => {
  it('reports a failed operation as a toast with its hint, and drops cancelled ones silently', async () => {
    useToasts.setState({ toasts: [] });
    const transport: ClientTransport = {
      call: async (msg) =>
        msg.method === 'machines.up'
          ? {
              ok: false,
              error: {
                code: 'image-missing',
                message: 'Base image is missing.',
                details: { hint: 'run: hlab image build' },
              },
            }
          : { ok: false, error: { code: 'cancelled', message: 'cancelled' } },
      cancel: () => undefined,
      onEvent: () => () => undefined,
    };
    const api = createClient(transport);
    expect(
      await useMachines.getState().runOp(api, 'm', 'Starting', 'machines.up', { name: 'm' }),
    ).toBeUndefined();
    expect(useToasts.getState().toasts).toEqual([
      expect.objectContaining({
        kind: 'error',
        text: 'Base image is missing.',
        code: 'image-missing',
        hint: 'run: hlab image build',
        scope: 'm',
      }),
    ]);
    await useMachines.getState().runOp(api, 'm', 'Stopping', 'machines.down', { name: 'm' });
    expect(useToasts.getState().toasts).toHaveLength(1);
    expect(useMachines.getState().ops).toEqual({});
  });
});

describe('toasts', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    useToasts.setState({ toasts: [] });
  });
  afterEach(() => vi.useRealTimers());

  it('go when their cause is gone, or after a while, and one per thing', async () => {
    const t = useToasts.getState();
    t.error({ code: 'bad-request', message: 'name is wrong' }, '__create');
    t.error({ code: 'busy', message: 'ux1 is busy' }, 'ux1');
    t.error({ code: 'busy', message: 'ux1 is still busy' }, 'ux1');
    expect(useToasts.getState().toasts.map((x) => x.text)).toEqual(['name is wrong', 'ux1 is still busy']);
    // The same machine's next operation worked: its error is no longer true.
    const transport: ClientTransport = {
      call: async () => ({ ok: true, value: { name: 'ux1' } }),
      cancel: () => undefined,
      onEvent: () => () => undefined,
    };
    await useMachines.getState().runOp(createClient(transport), 'ux1', 'Stopping', 'machines.down', {
      name: 'ux1',
    });
    expect(useToasts.getState().toasts.map((x) => x.text)).toEqual(['name is wrong']);
    vi.advanceTimersByTime(TOAST_MS.error - 1);
    expect(useToasts.getState().toasts).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(useToasts.getState().toasts).toHaveLength(0);
  });
});

describe('the app’s own confirmation', () => {
  it('resolves yes only on its confirm button; a newer question answers the older one no', async () => {
    const { answerConfirm, confirmInApp } = await import('../components/ConfirmDialog');
    const first = confirmInApp('Reset?', { confirm: 'Reset', danger: true });
    const second = confirmInApp('Destroy?', { confirm: 'Destroy' });
    expect(await first).toBe(false);
    answerConfirm(true);
    expect(await second).toBe(true);
    const third = confirmInApp('Delete?');
    answerConfirm(false);
    expect(await third).toBe(false);
  });
});

describe('a section from the URL', () => {
  it('reads "#/Runs" (any case), and nothing it does not know', async () => {
    const { sectionOf } = await import('./navigation');
    expect(sectionOf('#/Runs')).toBe('Runs');
    expect(sectionOf('#/bench')).toBe('Bench');
    expect(sectionOf('#Events')).toBe('Events');
    expect(sectionOf('')).toBeUndefined();
    expect(sectionOf('#/nope')).toBeUndefined();
    expect(sectionOf('#/%E2%80%AE')).toBeUndefined();
    expect(sectionOf('#/%E2%80')).toBeUndefined();
  });
});
