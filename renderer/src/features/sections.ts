export const SECTIONS = [
  'Machines',
  'Terminal',
  'Steps',
  'Runs',
  'Bench',
  'Events',
  'Workshops',
  'Class',
] as const;
export type Section = (typeof SECTIONS)[number];
