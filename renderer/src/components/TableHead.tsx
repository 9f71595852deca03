/** The header row of a list table; an empty name leaves a column (actions) without a heading. */
export function TableHead({ columns }: { columns: string[] }) {
  return (
    <thead>
      <tr>
        {columns.map((c, i) => (
          <th key={`${i}-${c}`}>{c}</th>
        ))}
      </tr>
    </thead>
  );
}
