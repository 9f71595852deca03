export const SECTIONS = ['Machines', 'Terminal', 'Steps', 'Runs', 'Bench', 'Events', 'Workshops'] as const;
export type Section = (typeof SECTIONS)[number];
