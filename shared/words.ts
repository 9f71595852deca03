/** Counts in words, one rule for the CLI, the UI and the reports: "1 hint", "2 hints", "0 hints". */
export const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
