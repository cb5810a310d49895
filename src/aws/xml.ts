// The little XML that S3 and STS answer with: the text of one element, entities decoded; nothing else is parsed.
const ENTITIES: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };

/** Text content of an XML element; undefined when it holds markup or an unknown entity. */
function xmlText(raw: string): string | undefined {
  if (raw.includes("<")) return undefined; // nested element, comment or CDATA: not what STS sends
  let bad = false;
  const text = raw.replace(/&(#x[0-9a-fA-F]{1,6}|#[0-9]{1,7}|[a-z]+);?/g, (entity, name: string) => {
    if (!entity.endsWith(";")) bad = true;
    if (name.startsWith("#")) {
      const code = name[1] === "x" ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
      if (code > 0x10ffff) bad = true;
      return bad ? "" : String.fromCodePoint(code);
    }
    const character = ENTITIES[name];
    if (character === undefined) bad = true;
    return character ?? "";
  });
  return bad ? undefined : text;
}

/** The content of the only `<name>` element in `xml` (attributes allowed), or undefined when there is not exactly one. */
export function element(xml: string, name: string): string | undefined {
  const pattern = new RegExp(`<${name}(?:\\s[^>]*)?(?:/>|>([\\s\\S]*?)</${name}\\s*>)`, "g");
  const matches = [...xml.matchAll(pattern)];
  return matches.length === 1 ? (matches[0]![1] ?? "") : undefined;
}

export function leaf(xml: string, name: string): string | undefined {
  const raw = element(xml, name);
  return raw === undefined ? undefined : xmlText(raw)?.trim();
}


/** True when a document declares a DTD (entities, external references): never read such an answer. */
export const declaresDtd = (xml: string) => /<!(DOCTYPE|ENTITY)/i.test(xml);

/** `Code: Message` of an S3 or STS error document, cut short and without control characters. */
export function errorText(xml: string): { code: string; text: string } {
  const code = leaf(xml, "Code") ?? "";
  const message = leaf(xml, "Message") ?? "";
  const text = [code, message].filter(Boolean).join(": ").replace(/[\u0000-\u001f\u007f]+/g, " ").slice(0, 300);
  return { code, text };
}
