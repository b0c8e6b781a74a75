import { readFileSync } from 'node:fs';
import { setLogFunction } from 'firebase-admin/firestore';

/**
 * Which index serves a Firestore query, decided from `firestore.indexes.json` the way Firestore
 * decides it, and a recorder of the queries a process really sends. Google's emulator answers every
 * query without any index, so this is how the suite proves the index file is complete: every query
 * the store issues in the tests is recorded and matched here.
 */

export type Direction = 'ASCENDING' | 'DESCENDING';

/** The parts of a query that decide its index. */
export interface QueryShape {
  collectionGroup: string;
  scope: 'COLLECTION' | 'COLLECTION_GROUP';
  /** Fields filtered with ==, in or array-contains. */
  equality: string[];
  /** Fields filtered with <, <=, >, >=, != or not-in. */
  inequality: string[];
  orderBy: Array<{ field: string; direction: Direction }>;
}

export interface IndexFile {
  indexes: Array<{
    collectionGroup: string;
    queryScope: 'COLLECTION' | 'COLLECTION_GROUP';
    fields: Array<{ fieldPath: string; order?: Direction; arrayConfig?: string }>;
  }>;
  fieldOverrides: Array<{
    collectionGroup: string;
    fieldPath: string;
    indexes: Array<{ order?: Direction; arrayConfig?: string; queryScope: 'COLLECTION' | 'COLLECTION_GROUP' }>;
  }>;
}

export function readIndexFile(path = 'firestore.indexes.json'): IndexFile {
  const parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<IndexFile>;
  return { indexes: parsed.indexes ?? [], fieldOverrides: parsed.fieldOverrides ?? [] };
}

/** A short, stable description of a shape, for messages and sets. */
export function describeShape(q: QueryShape): string {
  const scope = q.scope === 'COLLECTION_GROUP' ? ' (collection group)' : '';
  const parts = [
    ...q.equality.map((f) => `${f} ==`),
    ...q.inequality.map((f) => `${f} range`),
    ...q.orderBy.map((o) => `order ${o.field} ${o.direction === 'ASCENDING' ? 'asc' : 'desc'}`),
  ];
  return `${q.collectionGroup}${scope}: ${parts.join(', ') || 'all'}`;
}

const EQUALITY_OPS = new Set(['EQUAL', 'IN', 'ARRAY_CONTAINS', 'ARRAY_CONTAINS_ANY']);
const INEQUALITY_OPS = new Set(['LESS_THAN', 'LESS_THAN_OR_EQUAL', 'GREATER_THAN', 'GREATER_THAN_OR_EQUAL', 'NOT_EQUAL', 'NOT_IN']);

interface Filter {
  fieldFilter?: { field: { fieldPath: string }; op: string };
  unaryFilter?: { field: { fieldPath: string }; op: string };
  compositeFilter?: { op: string; filters: Filter[] };
}
interface StructuredQuery {
  from: Array<{ collectionId: string; allDescendants?: boolean }>;
  where?: Filter;
  orderBy?: Array<{ field: { fieldPath: string }; direction?: Direction }>;
}

/** The shape of a `StructuredQuery` as the client sends it (the RunQuery / RunAggregationQuery request). */
export function shapeOf(query: StructuredQuery): QueryShape {
  const equality: string[] = [];
  const inequality: string[] = [];
  const visit = (f: Filter | undefined): void => {
    if (!f) return;
    if (f.compositeFilter) {
      if (f.compositeFilter.op !== 'AND') throw new Error(`index check: ${f.compositeFilter.op} filters are not modelled`);
      f.compositeFilter.filters.forEach(visit);
    } else if (f.fieldFilter) {
      const { field, op } = f.fieldFilter;
      if (EQUALITY_OPS.has(op)) equality.push(field.fieldPath);
      else if (INEQUALITY_OPS.has(op)) inequality.push(field.fieldPath);
      else throw new Error(`index check: unknown operator ${op}`);
    } else if (f.unaryFilter) {
      // IS_NULL / IS_NAN are equalities; their negations are inequalities.
      (f.unaryFilter.op.startsWith('IS_NOT') ? inequality : equality).push(f.unaryFilter.field.fieldPath);
    }
  };
  visit(query.where);
  const from = query.from[0]!;
  return {
    collectionGroup: from.collectionId,
    scope: from.allDescendants ? 'COLLECTION_GROUP' : 'COLLECTION',
    equality: [...new Set(equality)].sort(),
    inequality: [...new Set(inequality)].sort(),
    // The document name is the implicit last order of every index: not a field of its own here.
    orderBy: (query.orderBy ?? [])
      .filter((o) => o.field.fieldPath !== '__name__')
      .map((o) => ({ field: o.field.fieldPath, direction: o.direction ?? 'ASCENDING' })),
  };
}

export type IndexVerdict = { ok: true; servedBy: string } | { ok: false; problem: string };

/**
 * Whether Firestore can run the query with the indexes the file declares plus the single-field
 * indexes it keeps automatically (collection scope, each field ascending and descending, unless a
 * field override exempts it; none in collection-group scope unless an override adds them):
 * - only equality filters: the single-field indexes of those fields, merged;
 * - filters and orders on one single field and no equality: that field's single-field index;
 * - anything else: a composite index whose fields are the equality fields (any order) followed by
 *   the order-by fields in the query's order and directions (an inequality field is ordered first).
 */
export function indexVerdict(q: QueryShape, file: IndexFile): IndexVerdict {
  const fields = [...new Set([...q.equality, ...q.inequality, ...q.orderBy.map((o) => o.field)])];
  const singleField = (field: string): boolean => {
    const override = file.fieldOverrides.find((o) => o.collectionGroup === q.collectionGroup && o.fieldPath === field);
    if (override) return override.indexes.some((i) => i.queryScope === q.scope && i.order !== undefined);
    return q.scope === 'COLLECTION';
  };
  const orders = q.orderBy.length > 0 ? q.orderBy : q.inequality.map((field) => ({ field, direction: 'ASCENDING' as const }));
  if (q.inequality.length === 0 && q.orderBy.length === 0 && q.equality.every(singleField)) {
    return { ok: true, servedBy: `single-field indexes (${q.equality.join(', ') || 'none'})` };
  }
  if (q.equality.length === 0 && fields.length === 1 && singleField(fields[0]!)) {
    return { ok: true, servedBy: `single-field index (${fields[0]})` };
  }
  const match = file.indexes.find((index) => {
    if (index.collectionGroup !== q.collectionGroup || index.queryScope !== q.scope) return false;
    if (index.fields.length !== q.equality.length + orders.length) return false;
    const prefix = index.fields
      .slice(0, q.equality.length)
      .map((f) => f.fieldPath)
      .sort();
    if (prefix.join('\u0000') !== q.equality.join('\u0000')) return false;
    return orders.every((o, i) => {
      const f = index.fields[q.equality.length + i]!;
      return f.fieldPath === o.field && f.order === o.direction;
    });
  });
  if (match)
    return {
      ok: true,
      servedBy: `composite (${match.fields.map((f) => `${f.fieldPath} ${f.order === 'DESCENDING' ? 'desc' : 'asc'}`).join(', ')})`,
    };
  const exempt = fields.filter((f) => q.scope === 'COLLECTION' && !singleField(f));
  const why = exempt.length > 0 ? ` (${exempt.join(', ')} exempted from single-field indexing by a field override)` : '';
  return { ok: false, problem: `${describeShape(q)}: no index in firestore.indexes.json serves it${why}` };
}

export interface QueryRecorder {
  /** Every distinct query shape sent since `start`, by its description. */
  readonly shapes: Map<string, QueryShape>;
  stop(): void;
}

/**
 * Records the shape of every query (RunQuery, RunAggregationQuery) any firebase-admin Firestore
 * client of this process sends, through the client library's public debug log: it logs each request
 * as JSON before sending it. One recorder at a time.
 */
export function recordQueries(): QueryRecorder {
  const shapes = new Map<string, QueryShape>();
  const marker = 'Sending request: ';
  setLogFunction((line) => {
    if (!line.includes('[Firestore.requestStream]') || !line.includes('structured')) return;
    const request = JSON.parse(line.slice(line.indexOf(marker) + marker.length)) as {
      structuredQuery?: StructuredQuery;
      structuredAggregationQuery?: { structuredQuery: StructuredQuery };
    };
    const query = request.structuredQuery ?? request.structuredAggregationQuery?.structuredQuery;
    if (!query) return;
    const shape = shapeOf(query);
    shapes.set(describeShape(shape), shape);
  });
  return { shapes, stop: () => setLogFunction(null) };
}
