/**
 * Debian control stanzas (`apt-cache show`, Packages files) field by field. Their text comes from a
 * guest or a mirror, so a field is found by comparing line starts, never by a pattern built from its
 * name. The first occurrence of a field wins; continuation lines (leading space) belong to no field.
 */
export function controlFields(stanza: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of stanza.split('\n')) {
    const colon = line.indexOf(': ');
    if (colon < 1 || line[0] === ' ' || line[0] === '\t') continue;
    const name = line.slice(0, colon);
    if (!fields.has(name)) fields.set(name, line.slice(colon + 2).trim());
  }
  return fields;
}
