import { describe, expect, it } from 'vitest';
import { parseInline, parseMarkdown } from './markdown';

describe('workshop page Markdown', () => {
  it('parses the subset pages use', () => {
    const blocks = parseMarkdown(
      '# Title\n\nSome `code` and **bold**\nwrapped *em*.\n\n- one\n- two\n  continued\n\n1. first\n\n```\nsudo sshd -t\n```\n\n| a | b |\n|---|---|\n| `x` | y |\n',
    );
    expect(blocks.map((b) => b.kind)).toEqual(['heading', 'paragraph', 'list', 'list', 'code', 'table']);
    expect(blocks[1]).toEqual({
      kind: 'paragraph',
      inline: [
        { kind: 'text', text: 'Some ' },
        { kind: 'code', text: 'code' },
        { kind: 'text', text: ' and ' },
        { kind: 'strong', text: 'bold' },
        { kind: 'text', text: ' wrapped ' },
        { kind: 'em', text: 'em' },
        { kind: 'text', text: '.' },
      ],
    });
    expect(blocks[2]).toMatchObject({
      ordered: false,
      items: [[{ text: 'one' }], [{ text: 'two continued' }]],
    });
    expect(blocks[4]).toEqual({ kind: 'code', text: 'sudo sshd -t' });
    expect(blocks[5]).toMatchObject({
      kind: 'table',
      rows: [[[{ kind: 'code', text: 'x' }], [{ text: 'y' }]]],
    });
  });

  it('takes _emphasis_ but leaves snake_case words alone', () => {
    expect(parseInline('the _difference_ of ip_forward and modules_disabled')).toEqual([
      { kind: 'text', text: 'the ' },
      { kind: 'em', text: 'difference' },
      { kind: 'text', text: ' of ip_forward and modules_disabled' },
    ]);
  });

  it('keeps markup as text: a page cannot inject HTML', () => {
    expect(parseInline('<img src=x onerror=alert(1)>')).toEqual([
      { kind: 'text', text: '<img src=x onerror=alert(1)>' },
    ]);
  });
});
