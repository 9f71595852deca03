import { createContext, useContext } from 'react';

/**
 * Where a page's "Run in terminal" types: the terminal beside a workshop page, when there is one
 * and the trainee may type in it. Absent elsewhere, and the button with it.
 */
export const TypeInTerminal = createContext<((text: string) => void) | undefined>(undefined);

export const useTypeInTerminal = () => useContext(TypeInTerminal);

/**
 * A code block as keys: each line ends with Enter, as if the trainee had typed it. Other control
 * characters are dropped: a page from an imported workshop must not send Ctrl-C, an escape
 * sequence or a bracketed-paste marker to the trainee's shell.
 */
export function asTyped(code: string): string {
  const lines = code
    .replace(/\r\n?/g, '\n')
    // A tab would ask the shell to complete; the page meant indentation.
    .replace(/\t/g, '    ')
    // eslint-disable-next-line no-control-regex -- these are exactly what is removed
    .replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, '')
    .replace(/\n+$/, '');
  return `${lines.split('\n').join('\r')}\r`;
}
