/** GET / — the API entry point (§3.1). */
import { halResource, link } from '../../hal/links.js';
import { paths, routePatterns } from '../../hal/paths.js';
import type { ResourceRoute } from '../../http/types.js';

export function rootRoutes(): ResourceRoute[] {
  return [
    {
      path: routePatterns.root,
      signed: true,
      operations: {
        GET: {
          action: 'GetApiRoot',
          async handle() {
            return { status: 200, body: halResource(paths.root(), { 'appstream:applications': link(paths.applications()) }) };
          },
        },
      },
    },
  ];
}
