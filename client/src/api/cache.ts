/**
 * Apollo's cache policies. The job history (and each search of it) is one list across pages:
 * pages loaded with `after`, a refetched first page after a reconnect, and jobs just submitted
 * all merge into it, newest first, each job once.
 */
import { InMemoryCache, type FieldMergeFunction, type Reference } from '@apollo/client';

interface StoredEdge {
  readonly cursor: string;
  readonly node: Reference;
}

interface StoredConnection {
  readonly edges: readonly StoredEdge[];
  readonly pageInfo: { readonly hasNextPage: boolean; readonly endCursor: string | null };
  readonly totalCount: number;
}

/**
 * Merges a page of jobs into the stored list: the union of both (a job in both keeps the newer
 * edge), sorted newest first. Paging on (`after`) takes the new page's `pageInfo`; a first page
 * merged into a longer list keeps the list's tail and so its `pageInfo`.
 */
export const mergeJobPages: FieldMergeFunction<StoredConnection, StoredConnection> = (
  existing,
  incoming,
  { args, readField },
) => {
  if (existing === undefined) return incoming;
  const byJob = new Map<string, StoredEdge>();
  for (const edge of existing.edges) byJob.set(edge.node.__ref, edge);
  for (const edge of incoming.edges) byJob.set(edge.node.__ref, edge);
  const createdAt = (edge: StoredEdge): string => readField<string>('createdAt', edge.node) ?? '';
  const edges = [...byJob.values()].sort((a, b) => {
    const byTime = createdAt(b).localeCompare(createdAt(a));
    return byTime !== 0 ? byTime : b.node.__ref.localeCompare(a.node.__ref);
  });
  const paging = typeof args?.['after'] === 'string';
  const keepsTail = !paging && existing.edges.length > incoming.edges.length;
  return {
    ...incoming,
    edges,
    pageInfo: keepsTail ? existing.pageInfo : incoming.pageInfo,
  };
};

export function createCache(): InMemoryCache {
  return new InMemoryCache({
    typePolicies: {
      Query: {
        fields: {
          // One list per search (none: the whole history), its pages merged.
          jobs: { keyArgs: ['search'], merge: mergeJobPages },
        },
      },
    },
  });
}
