// Small text helpers for what the UI shows.

/** "1 partner", "3 partners", "0 partners". */
export function countLabel(count: number, singular: string, plural = `${singular}s`): string {
  return `${count} ${count === 1 ? singular : plural}`;
}

/** Upper-cases the first character, leaving the rest exactly as it is. */
export function sentence(text: string): string {
  const first = text.codePointAt(0);
  if (first === undefined) return text;
  const head = String.fromCodePoint(first);
  return head.toUpperCase() + text.slice(head.length);
}

/** An RFC 3339 UTC time ("2026-11-26T13:47:41.123Z") as "2026-11-26 13:47 UTC"; other text as is. */
export function timestampLabel(value: string): string {
  const match = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})(?::\d{2}(?:\.\d+)?)?(?:Z|\+00:00)$/.exec(value);
  return match ? `${match[1]} ${match[2]} UTC` : value;
}
