import YAML from 'yaml';
import { beforeEach, describe, expect, it } from 'vitest';
import type { ApiClient } from '../../../../shared/rpc';
import type { StepDef } from '../../../../shared/steps';
import { draftToYaml, emptyDraft, recipeToDraft, useSteps } from './store';

const step = (id: string) => ({ id, params: {} }) as unknown as StepDef;

describe('recipe builder store', () => {
  beforeEach(() => useSteps.setState({ draft: emptyDraft(), draftIssues: [] }));

  it('adds, reorders, removes steps and sets typed params', () => {
    const s = useSteps.getState();
    s.addStep(step('kernel-sysctl'));
    s.addStep(step('sshd-hardening'));
    s.addStep(step('lock-root'));
    useSteps.getState().moveStep(2, -1);
    useSteps.getState().removeStep(0);
    useSteps.getState().setParam(1, 'maxAuthTries', 3);
    expect(useSteps.getState().draft.steps).toEqual([
      { step: 'lock-root', params: {} },
      { step: 'sshd-hardening', params: { maxAuthTries: 3 } },
    ]);
  });

  it('writes recipe YAML with typed params, bench and exceptions', () => {
    const s = useSteps.getState();
    s.setDraft({ id: 'built-in-ui', title: 'Built: in the "UI"', bench: ['checks', 'lynis'] });
    s.addStep(step('network-sysctl'));
    useSteps.getState().setParam(0, 'dockerHost', false);
    s.addStep(step('modules-disabled'));
    useSteps.getState().setParam(1, 'preload', ['overlay', 'veth']);
    useSteps.getState().setDraft({
      exceptions: [
        { id: 'no-forward', step: 'network-sysctl', reason: 'not a Docker host: ip_forward off' },
        { id: 'fwd', reason: 'Docker', tests: ['KRNL-6000:net.ipv4.conf.all.forwarding'] },
      ],
    });
    const yaml = draftToYaml(useSteps.getState().draft);
    // The same text is loaded by the main-process loader in test/unit/steps-load.test.ts.
    const recipe = YAML.parse(yaml) as Parameters<typeof recipeToDraft>[0];
    expect(recipe).toMatchObject({
      id: 'built-in-ui',
      title: 'Built: in the "UI"',
      base: 'debian-12',
      bench: ['checks', 'lynis'],
      steps: [
        { step: 'network-sysctl', params: { dockerHost: false } },
        { step: 'modules-disabled', params: { preload: ['overlay', 'veth'] } },
      ],
      exceptions: [
        { id: 'no-forward', step: 'network-sysctl', reason: 'not a Docker host: ip_forward off' },
        { id: 'fwd', reason: 'Docker', tests: ['KRNL-6000:net.ipv4.conf.all.forwarding'] },
      ],
    });
    expect(recipeToDraft(recipe).steps).toEqual(useSteps.getState().draft.steps);
    // Loading a recipe into the builder and saving it keeps every exception field.
    expect(recipeToDraft(recipe).exceptions).toEqual(useSteps.getState().draft.exceptions);
  });

  it('shows the loader’s file:line issues for a bad draft', async () => {
    useSteps.getState().setDraft({ steps: [{ step: 'no-such-step', params: {} }] });
    const fake = {
      call: async () => ({
        ok: true,
        value: {
          issues: [
            {
              file: 'labs/recipes/my-recipe.yaml',
              line: 7,
              path: 'steps[0].step',
              message: 'no step "no-such-step"',
            },
          ],
        },
      }),
    } as unknown as ApiClient;
    expect(await useSteps.getState().validate(fake, false)).toBe(false);
    expect(useSteps.getState().draftIssues[0]?.line).toBe(7);
  });
});
