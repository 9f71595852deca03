export const SECTIONS = ['Machines', 'Terminal', 'Steps', 'Runs', 'Bench', 'Workshops'] as const;
export type Section = (typeof SECTIONS)[number];
