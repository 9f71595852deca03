import { describe, expect, it } from 'vitest';
import { asTyped } from './typeInTerminal';

describe('a code block typed into the terminal', () => {
  it('ends every line with Enter, once, whatever the line ends were', () => {
    expect(asTyped('sudo sshd -T')).toBe('sudo sshd -T\r');
    expect(asTyped('a\r\nb\n\n')).toBe('a\rb\r');
  });
  it('drops control characters a hostile page could use, and turns tabs into spaces', () => {
    expect(asTyped('echo hi\u0003\u001b[200~x\u009b\u007f')).toBe('echo hi[200~x\r');
    expect(asTyped('\tls')).toBe('    ls\r');
  });
});
