/** A trainee's way through a workshop: every check fails (with FAIL: lines) before its solve and passes after. */
import { expect } from 'vitest';
import type { ApiClient } from '../../shared/rpc.js';
import { must } from './vm-env.js';

/** `stopBefore`: a challenge whose check is proven to fail, and then not solved (see the caller). */
export async function walkWorkshop(
  client: ApiClient,
  machine: string,
  label = machine,
  stopBefore?: string,
): Promise<void> {
  for (;;) {
    const st = await must(client, 'workshops.status', { machine });
    if (!st.current) break;
    const before = await must(client, 'workshops.check', { machine });
    expect(
      before.pass,
      `${label}/${st.current.id}: the check must fail before the solve\n${before.output}`,
    ).toBe(false);
    expect(before.failures.length, `${label}/${st.current.id}: FAIL: lines`).toBeGreaterThan(0);
    if (st.current.id === stopBefore) return;
    const after = await must(client, 'workshops.solve', { machine });
    expect(
      after.pass,
      `${label}/${st.current.id}: the check must pass after the solve\n${after.output}`,
    ).toBe(true);
  }
}
