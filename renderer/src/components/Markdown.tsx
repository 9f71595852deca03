import { Fragment, useState, type ReactNode } from 'react';
import { copyText } from './clipboard';
import { parseInline, parseMarkdown, type Inline } from './markdown';
import { asTyped, useTypeInTerminal } from './typeInTerminal';

/** How long "Copied" shows after a click. */
const COPIED_MS = 1500;

function useCopied(): [boolean, (text: string) => void] {
  const [copied, setCopied] = useState(false);
  const copy = (text: string) =>
    void copyText(text).then((ok) => {
      if (!ok) return;
      setCopied(true);
      setTimeout(() => setCopied(false), COPIED_MS);
    });
  return [copied, copy];
}

/** Inline code copies itself on a click: a file name or a short command from a hint. */
function InlineCode({ text }: { text: string }) {
  const [copied, copy] = useCopied();
  return (
    // A short command stays on one line: "sudo sshd -T" must not break after its dash.
    <code
      className={`copyable${text.length <= 40 ? ' nowrap' : ''}${copied ? ' copied' : ''}`}
      title={copied ? 'Copied' : 'Click to copy'}
      onClick={() => copy(text)}
    >
      {text}
    </code>
  );
}

/** A fenced block: Copy, and Run in terminal where a terminal the trainee may type in is beside it. */
function CodeBlock({ text }: { text: string }) {
  const [copied, copy] = useCopied();
  const type = useTypeInTerminal();
  return (
    <div className="codeblock">
      <pre>
        <code>{text}</code>
      </pre>
      <div className="code-actions">
        <button onClick={() => copy(text)} aria-label="Copy the command">
          {copied ? 'Copied' : 'Copy'}
        </button>
        {type && (
          <button onClick={() => type(asTyped(text))} aria-label="Run the command in the terminal">
            Run in terminal
          </button>
        )}
      </div>
    </div>
  );
}

function inline(parts: Inline[]): ReactNode {
  return parts.map((p, i) =>
    p.kind === 'code' ? (
      <InlineCode key={i} text={p.text} />
    ) : p.kind === 'strong' ? (
      <strong key={i}>{p.text}</strong>
    ) : p.kind === 'em' ? (
      <em key={i}>{p.text}</em>
    ) : (
      <Fragment key={i}>{p.text}</Fragment>
    ),
  );
}

/** One line of text with `code`, **strong** and *em* rendered (hints, step descriptions). */
export function InlineMarkdown({ text }: { text: string }) {
  return <>{inline(parseInline(text))}</>;
}

/** A workshop page: text only, rendered as React elements (never as HTML). */
export function Markdown({ text }: { text: string }) {
  return (
    <div className="markdown">
      {parseMarkdown(text).map((b, i) => {
        switch (b.kind) {
          case 'heading': {
            const H = (['h3', 'h4', 'h5'] as const)[b.level - 1] ?? 'h5';
            return <H key={i}>{inline(b.inline)}</H>;
          }
          case 'paragraph':
            return <p key={i}>{inline(b.inline)}</p>;
          case 'code':
            return <CodeBlock key={i} text={b.text} />;
          case 'list': {
            const L = b.ordered ? 'ol' : 'ul';
            return (
              <L key={i}>
                {b.items.map((it, j) => (
                  <li key={j}>{inline(it)}</li>
                ))}
              </L>
            );
          }
          case 'table':
            return (
              <table key={i}>
                <thead>
                  <tr>
                    {b.head.map((c, j) => (
                      <th key={j}>{inline(c)}</th>
                    ))}
                  </tr>
                </thead>
                <tbody>
                  {b.rows.map((r, j) => (
                    <tr key={j}>
                      {r.map((c, k) => (
                        <td key={k}>{inline(c)}</td>
                      ))}
                    </tr>
                  ))}
                </tbody>
              </table>
            );
        }
      })}
    </div>
  );
}
