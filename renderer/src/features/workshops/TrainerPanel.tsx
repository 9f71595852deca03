import { useState } from 'react';
import type { ClassRow } from '../../../../shared/workshops';
import { api } from '../../api/client';
import { download } from './download';
import { useWorkshops } from './store';

const readAll = (files: FileList | null) =>
  Promise.all([...(files ?? [])].map(async (f) => ({ name: f.name, text: await f.text() })));

/** For trainers: trainees' exports merged into one class table, and workshop archives imported. */
export function TrainerPanel() {
  const { call, refresh } = useWorkshops();
  const [rows, setRows] = useState<ClassRow[]>();
  const [html, setHtml] = useState('');

  const merge = async (files: FileList | null) => {
    const exports = await readAll(files);
    if (!exports.length) return;
    const r = await call(api(), 'Merging exports', 'workshops.class', { exports });
    if (r) {
      setRows(r.rows);
      setHtml(r.html);
    }
  };
  const importArchive = async (files: FileList | null) => {
    for (const f of await readAll(files)) {
      const r = await call(api(), `Importing ${f.name}`, 'workshops.import', {
        archive: f.text,
        name: f.name,
      });
      if (r) await refresh(api());
    }
  };
  const ids = Object.keys(rows?.[0]?.perChallenge ?? {});

  return (
    <details className="panel">
      <summary>Trainer: class table and workshop import</summary>
      <div className="toolbar">
        <label>
          Trainees&apos; JSON exports{' '}
          <input
            type="file"
            accept=".json,application/json"
            multiple
            onChange={(e) => void merge(e.target.files)}
          />
        </label>
        <label>
          Import a workshop archive{' '}
          <input
            type="file"
            accept=".json,application/json"
            onChange={(e) => void importArchive(e.target.files)}
          />
        </label>
        {html && (
          <button onClick={() => download('class.html', html, 'text/html')}>
            Download class table (HTML)
          </button>
        )}
      </div>
      {rows && (
        <table aria-label="Class progress">
          <thead>
            <tr>
              <th>workshop</th>
              <th>trainee</th>
              {ids.map((id) => (
                <th key={id}>
                  <code>{id}</code>
                </th>
              ))}
              <th>passed</th>
              <th>checks</th>
              <th>hints</th>
              <th>resets</th>
              <th>min</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={`${r.workshop}/${r.trainee}`}>
                <td>{r.workshop}</td>
                <td>{r.trainee}</td>
                {ids.map((id) => (
                  <td key={id}>{r.perChallenge[id] ?? '—'}</td>
                ))}
                <td>
                  {r.passed}/{r.total}
                </td>
                <td>{r.attempts}</td>
                <td>{r.hints}</td>
                <td>{r.resets}</td>
                <td>{r.minutes}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </details>
  );
}
