/**
 * The app's own confirmation, instead of the browser's confirm(): it says what is lost in the
 * app's words and look, names the action on its button, and Escape or Cancel keeps everything.
 */
import { useEffect, useRef } from 'react';
import { create } from 'zustand';

interface Question {
  message: string;
  confirm: string;
  danger: boolean;
  resolve(yes: boolean): void;
}

const useConfirm = create<{ asking?: Question }>(() => ({}));

/** Asks; resolves true only on the confirm button. A second question answers the first "no". */
export function confirmInApp(
  message: string,
  o: { confirm?: string; danger?: boolean } = {},
): Promise<boolean> {
  useConfirm.getState().asking?.resolve(false);
  return new Promise((resolve) =>
    useConfirm.setState({
      asking: { message, confirm: o.confirm ?? 'OK', danger: o.danger ?? false, resolve },
    }),
  );
}

export function answerConfirm(yes: boolean) {
  const q = useConfirm.getState().asking;
  useConfirm.setState({ asking: undefined });
  q?.resolve(yes);
}

export function ConfirmDialog() {
  const asking = useConfirm((s) => s.asking);
  const cancel = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (!asking) return;
    // Focus starts on Cancel: Enter on a question that loses work must not lose it.
    cancel.current?.focus();
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && answerConfirm(false);
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [asking]);
  if (!asking) return null;
  return (
    <div className="modal-backdrop">
      <div role="alertdialog" aria-modal="true" aria-labelledby="confirm-text" className="modal">
        <p id="confirm-text">{asking.message}</p>
        <div className="toolbar">
          <button ref={cancel} onClick={() => answerConfirm(false)}>
            Cancel
          </button>
          <button className={asking.danger ? 'danger' : 'primary'} onClick={() => answerConfirm(true)}>
            {asking.confirm}
          </button>
        </div>
      </div>
    </div>
  );
}
