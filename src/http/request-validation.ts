import type { TObject, TSchema } from '@sinclair/typebox';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { BadRequestError } from '../domain/errors.js';
import type { RouteSchema } from './schemas/common.js';

/**
 * Requests are checked against their route's schema (src/http/schemas/) with Ajv, once, before the
 * handler runs: a well-kept JSON Schema validator instead of hand-written checks, and the same schemas
 * make the OpenAPI document. The 400 names the field: Ajv's errors are turned into the API's own words
 * here (`messageFor`), and a schema may carry its own with the `errorMessage` annotation.
 */

// ajv-formats is CommonJS: under NodeNext its default import is the module object on some setups.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as unknown as (
  ajv: Ajv2020,
) => Ajv2020;

/**
 * JSON Schema 2020-12 (OpenAPI 3.1's dialect). No type coercion: query strings are converted by
 * `queryObject` from the schema's declared types, strictly (`1e2` is not an integer). `useDefaults`
 * fills in the documented defaults, so the handler sees them.
 */
export function createAjv(opts: { useDefaults?: boolean } = {}): Ajv2020 {
  const ajv = new Ajv2020({
    allErrors: false,
    useDefaults: opts.useDefaults ?? true,
    verbose: true,
    strict: true,
    allowUnionTypes: true,
    // `examples` and `contentMediaType` are documentation; Ajv knows them, nothing to add.
  });
  addFormats(ajv);
  // `errorMessage`: the 400's text when this schema refuses the value: one string, or one per keyword.
  ajv.addKeyword({ keyword: 'errorMessage', schemaType: ['string', 'object'] });
  return ajv;
}

const ajv = createAjv();

export interface CheckedInput {
  query: unknown;
  body: unknown;
}

/** Checks one request's parameters, query and body; throws `BadRequestError` naming the field. */
export type InputCheck = (params: Readonly<Record<string, string>>, query: URLSearchParams, body: unknown) => CheckedInput;

export function compileInputCheck(schema: RouteSchema): InputCheck {
  const params = schema.params ? ajv.compile(schema.params) : null;
  const query = schema.query ? ajv.compile(schema.query) : null;
  const queryTypes = schema.query ? propertyTypes(schema.query) : null;
  const body = schema.body ? ajv.compile(schema.body) : null;
  const bodyOptional = schema.bodyOptional ?? false;
  return (rawParams, rawQuery, rawBody) => {
    if (params) check(params, { ...rawParams }, 'path');
    let q: unknown = rawQuery;
    if (query && queryTypes) {
      q = queryObject(rawQuery, queryTypes);
      check(query, q, 'query');
    }
    let b = rawBody;
    if (body) {
      if (b === undefined) {
        if (!bodyOptional) throw new BadRequestError('request body is required (a JSON object)');
        b = {};
      }
      check(body, b, 'body');
    }
    return { query: q, body: b };
  };
}

type Where = 'path' | 'query' | 'body';

function check(validate: ValidateFunction, value: unknown, where: Where): void {
  if (validate(value)) return;
  const error = validate.errors?.[0];
  throw new BadRequestError(error ? messageFor(error, where) : `invalid ${where}`);
}

/** `/a/0/b` → `a[0].b`; the root is "request body" or "query". */
function fieldName(error: ErrorObject, where: Where): string {
  let path = error.instancePath;
  if (error.keyword === 'required') path += `/${(error.params as { missingProperty: string }).missingProperty}`;
  if (path === '') return where === 'body' ? 'request body' : where === 'query' ? 'query' : 'path';
  return path
    .slice(1)
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((p, i) => (/^\d+$/.test(p) ? `[${p}]` : i === 0 ? p : `.${p}`))
    .join('');
}

const TYPE_WORDS: Readonly<Record<string, string>> = {
  string: 'a string',
  integer: 'an integer',
  number: 'a number',
  boolean: 'true or false',
  object: 'a JSON object',
  array: 'an array',
  null: 'null',
};

/** One Ajv error in the API's words, naming the field. Exported for the tests' response checks. */
export function messageFor(error: ErrorObject, where: Where = 'body'): string {
  const custom = (error.parentSchema as { errorMessage?: string | Record<string, string> } | undefined)?.errorMessage;
  if (typeof custom === 'string') return custom;
  if (custom && typeof custom[error.keyword] === 'string') return custom[error.keyword]!;
  const field = fieldName(error, where);
  const p = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required':
      return `${field} is required`;
    case 'type': {
      const types = ([] as string[]).concat(p.type as string | string[]);
      return `${field} must be ${types.map((t) => TYPE_WORDS[t] ?? t).join(' or ')}`;
    }
    case 'minLength':
      return p.limit === 1 ? `${field} must not be empty` : `${field} must be at least ${String(p.limit)} characters`;
    case 'maxLength':
      return `${field} is longer than ${String(p.limit)} characters`;
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return `${field} must be ${String(p.comparison)} ${String(p.limit)}`;
    case 'enum':
      return `${field} must be one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'const':
      return `${field} must be ${JSON.stringify(p.allowedValue)}`;
    case 'additionalProperties':
      return `${field === 'request body' || field === 'query' ? '' : `${field}.`}${String(p.additionalProperty)} is not a known field`;
    case 'pattern':
      return `${field} has the wrong form`;
    case 'format':
      return `${field} must be ${String(p.format)}`;
    default:
      return `${field} ${error.message ?? 'is invalid'}`;
  }
}

type QueryType = 'string' | 'integer' | 'number' | 'boolean';

/** The declared type of each query parameter (query schemas are flat objects of scalars). */
function propertyTypes(schema: TObject): Map<string, QueryType> {
  const out = new Map<string, QueryType>();
  for (const [name, prop] of Object.entries(schema.properties as Record<string, TSchema>)) {
    const t = (prop as { type?: unknown }).type;
    out.set(name, t === 'integer' || t === 'number' || t === 'boolean' ? t : 'string');
  }
  return out;
}

/**
 * The query string as an object for its schema. One value per parameter: a repeated one is ambiguous
 * and refused. Numbers and booleans are converted only from their plain spelling (`50`, `true`); any
 * other string is left as it is, so the schema refuses it with the parameter's name. Parameters the
 * schema does not declare are passed through as strings.
 */
export function queryObject(query: URLSearchParams, types: ReadonlyMap<string, QueryType>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of new Set(query.keys())) {
    const values = query.getAll(name);
    if (values.length > 1) throw new BadRequestError(`query parameter ${name} is given more than once`);
    const raw = values[0]!;
    const type = types.get(name) ?? 'string';
    if (type === 'integer' && /^-?\d{1,15}$/.test(raw)) out[name] = Number(raw);
    else if (type === 'number' && /^-?\d{1,15}(\.\d{1,15})?$/.test(raw)) out[name] = Number(raw);
    else if (type === 'boolean' && (raw === 'true' || raw === 'false')) out[name] = raw === 'true';
    else out[name] = raw;
  }
  return out;
}
