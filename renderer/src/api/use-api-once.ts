import { useEffect, useState } from 'react';
import type { MethodName, ReqOf, ResOf } from '../../../shared/api';
import { api } from './client';

/** A method called once when the component mounts: its value, or the error message. */
export function useApiOnce<M extends MethodName>(
  method: M,
  params: ReqOf<M>,
): { value?: ResOf<M>; error?: string } {
  const [state, setState] = useState<{ value?: ResOf<M>; error?: string }>({});
  useEffect(() => {
    void api()
      .call(method, params)
      .then((r) => setState(r.ok ? { value: r.value } : { error: r.error.message }));
    // Once per mount: params are literals at the call sites.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [method]);
  return state;
}
