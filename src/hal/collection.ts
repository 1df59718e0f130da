/** Paged collections (§3.2, §3.7, §3.10): self/next/first links, item array, keyset tokens. */
import { link, type Link, type Links } from './links.js';
import { PAGE_SIZE, type PageCursor, type PageKey, type PageTokenCodec } from './page-token.js';

export interface PageRequest {
  cursor: PageCursor | undefined;
  limit: number; // PAGE_SIZE + 1, to learn whether a next page exists
}

export function pageRequest(codec: PageTokenCodec, query: Readonly<Record<string, string>>): PageRequest {
  const raw = query['page'];
  return { cursor: codec.decode(typeof raw === 'string' ? raw : undefined), limit: PAGE_SIZE + 1 };
}

/** Builds the links of one page from the rows fetched (at most PAGE_SIZE + 1). */
export function pageLinks<T>(
  basePath: string,
  codec: PageTokenCodec,
  req: PageRequest,
  rows: T[],
  keyOf: (row: T) => PageKey,
  hrefOf: (row: T) => string,
  query: Readonly<Record<string, string>>,
): Links {
  const items = rows.slice(0, PAGE_SIZE);
  const links: Links = {
    self: link(req.cursor ? `${basePath}?page=${encodeURIComponent(query['page'] ?? '')}` : basePath),
    item: items.map((r): Link => link(hrefOf(r))),
  };
  if (rows.length > PAGE_SIZE) {
    const page = (req.cursor?.page ?? 1) + 1;
    links['next'] = link(`${basePath}?page=${encodeURIComponent(codec.encode({ page, after: keyOf(items[items.length - 1]!) }))}`);
  }
  if (req.cursor) links['first'] = link(basePath);
  return links;
}
