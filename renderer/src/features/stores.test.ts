import { beforeEach, describe, expect, it } from 'vitest';
import { useTerminals } from './terminal/store';
import { useToasts } from './toasts/store';
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
        text: 'Base image is missing. (image-missing)',
        hint: 'run: hlab image build',
      }),
    ]);
    await useMachines.getState().runOp(api, 'm', 'Stopping', 'machines.down', { name: 'm' });
    expect(useToasts.getState().toasts).toHaveLength(1);
    expect(useMachines.getState().ops).toEqual({});
  });
});
