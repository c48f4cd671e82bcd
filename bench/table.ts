// A result table every bench module returns, and its markdown form (printed to stdout so it
// can be pasted into notes as is).

export interface Table {
  title: string;
  columns: string[];
  rows: string[][];
  /** lines printed under the table: what was measured, and how */
  notes?: string[];
}

export function toMarkdown(table: Table): string {
  const lines = [`### ${table.title}`, ''];
  lines.push(`| ${table.columns.join(' | ')} |`);
  lines.push(`| ${table.columns.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`);
  for (const row of table.rows) lines.push(`| ${row.join(' | ')} |`);
  if (table.notes?.length) {
    lines.push('');
    for (const note of table.notes) lines.push(`- ${note}`);
  }
  return lines.join('\n');
}
