/** HAL building blocks (§2.7): links, templated links, curies, the resource envelope. */
export interface Link {
  href: string;
  templated?: true;
}
export type Links = Record<string, Link | Link[]>;

const DOCS = 'http://docs.aws.amazon.com/appstream/latest/developerguide';

export const CURIES: Link[] & { name: string }[] = [
  { name: 'appstream', href: `${DOCS}/rest-api-{rel}.html`, templated: true },
  { name: 'application', href: `${DOCS}/rest-api-application-{rel}.html`, templated: true },
  { name: 'session', href: `${DOCS}/rest-api-session-{rel}.html`, templated: true },
];

export const link = (href: string): Link => ({ href });
export const templated = (href: string): Link => ({ href, templated: true });

/** A HAL resource: `_links` (with self first and curies) and the properties at top level. */
export function halResource(self: string, links: Links, properties: Record<string, unknown> = {}): Record<string, unknown> {
  return { _links: { self: link(self), curies: CURIES, ...links }, ...properties };
}
