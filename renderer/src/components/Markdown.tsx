import { Fragment, type ReactNode } from 'react';
import { parseInline, parseMarkdown, type Inline } from './markdown';

function inline(parts: Inline[]): ReactNode {
  return parts.map((p, i) =>
    p.kind === 'code' ? (
      // A short command stays on one line: "sudo sshd -T" must not break after its dash.
      <code key={i} className={p.text.length <= 40 ? 'nowrap' : undefined}>
        {p.text}
      </code>
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
            return (
              <pre key={i}>
                <code>{b.text}</code>
              </pre>
            );
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
