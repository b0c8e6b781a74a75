import { type Static, type TObject, type TSchema, Type } from '@sinclair/typebox';
import type { ErrorCode } from '../../domain/errors.js';
import { STATUS_BY_CODE, type ApiErrorCode } from '../respond.js';

/**
 * What every route schema is made of. The schemas are TypeBox (JSON Schema 2020-12 objects with static
 * TypeScript types): Ajv validates requests with them (src/http/request-validation.ts), the OpenAPI
 * document is built from them (src/http/openapi.ts), and the tests validate every response they
 * receive against them. TypeBox was chosen over hand-written JSON Schema because each schema also
 * yields its TypeScript type (`Static`), so a handler's input type cannot disagree with its check.
 */

/**
 * Marks a schema as a named component: the OpenAPI document lists it once under
 * `components.schemas.<name>` and refers to it with `$ref` wherever it is used. A symbol, so that the
 * route schemas stay plain, self-contained JSON Schema (Ajv and fast-json-stringify compile them as
 * they are), and so that TypeBox's copies (`Type.Optional(X)` spreads X) keep the mark.
 */
export const COMPONENT = Symbol.for('wasync.openapi.component');

const COMPONENTS = new Map<string, TSchema>();

export function component<T extends TSchema>(name: string, schema: T): T {
  if (COMPONENTS.has(name)) throw new Error(`schema component ${name} is defined twice`);
  COMPONENTS.set(name, schema);
  Object.defineProperty(schema, COMPONENT, { value: name, enumerable: true });
  return schema;
}

/**
 * The component a schema is, if it is one: the marked original or an unchanged copy of it
 * (`Type.Optional` copies). A schema derived from a component and changed (`{ ...X, type: [...] }`)
 * carries the mark too but is not the component, so it stays inline.
 */
export function componentName(schema: object): string | null {
  const name = (schema as Record<symbol, unknown>)[COMPONENT];
  if (typeof name !== 'string') return null;
  const original = COMPONENTS.get(name);
  if (original === schema) return name;
  return original !== undefined && JSON.stringify(original) === JSON.stringify(schema) ? name : null;
}

/**
 * `type: [T, 'null']` rather than `anyOf`: OpenAPI 3.1 allows type arrays, renderers show them as one
 * type, and schema-compiled serializers handle them without trying branches.
 */
export function Nullable<T extends TSchema & { type: string }>(schema: T): TSchema & { static: Static<T> | null } {
  return Type.Unsafe<Static<T> | null>({ ...schema, type: [schema.type, 'null'] }) as TSchema & { static: Static<T> | null };
}

/** Enums that may be null: the null goes into the enum too, or JSON Schema refuses it. */
export function NullableEnum<const V extends readonly string[]>(values: V, options: { description?: string } = {}) {
  return Type.Unsafe<V[number] | null>({ type: ['string', 'null'], enum: [...values, null], ...options });
}

export function StringEnum<const V extends readonly string[]>(
  values: V,
  options: { description?: string; default?: V[number]; errorMessage?: string } = {},
) {
  return Type.Unsafe<V[number]>({ type: 'string', enum: [...values], ...options });
}

/** Instants are ISO 8601 strings in every response (README, API); null when unset. */
export const Instant = (description?: string) =>
  Nullable(Type.String({ format: 'date-time', ...(description === undefined ? {} : { description }) }));

/** The `errorMessage` annotation: a whole 400 message for any failure inside this schema (see request-validation.ts). */
export interface WithErrorMessage {
  errorMessage?: string;
}

// ----------------------------------------------------------------------------------------------------
// Responses

export type JsonResponseSpec = { description: string; schema: TSchema; headers?: Readonly<Record<string, HeaderSpec>> };
/** A body that is not JSON (media, metrics, the console's files): the content type is checked, not the bytes. */
export type RawResponseSpec = {
  description: string;
  contentType: string;
  /** JSON Schema of the body as OpenAPI shows it (`{ type: 'string', contentMediaType }` for bytes). */
  schema?: TSchema;
  headers?: Readonly<Record<string, HeaderSpec>>;
};
/**
 * A body in one of several content types the request chooses between (the export: JSON Lines or CSV),
 * each with the JSON Schema OpenAPI shows for it. The content type is checked, not the bytes.
 */
export type ContentResponseSpec = {
  description: string;
  content: Readonly<Record<string, TSchema>>;
  headers?: Readonly<Record<string, HeaderSpec>>;
};
/** No body (304). */
export type EmptyResponseSpec = { description: string; empty: true; headers?: Readonly<Record<string, HeaderSpec>> };
export type ResponseSpec = JsonResponseSpec | RawResponseSpec | ContentResponseSpec | EmptyResponseSpec;

export interface HeaderSpec {
  description: string;
  schema?: TSchema;
}

export function json(schema: TSchema, description: string, headers?: Readonly<Record<string, HeaderSpec>>): JsonResponseSpec {
  return headers ? { description, schema, headers } : { description, schema };
}

/** Codes the API answers with at `status`, read from the one error table (respond.ts). */
export function codesFor(status: number): ApiErrorCode[] {
  if (status === 500) return ['INTERNAL']; // a 500 never passes its code on (respond.ts, replyForError)
  if (status === 405) return ['METHOD_NOT_ALLOWED'];
  return (Object.keys(STATUS_BY_CODE) as ErrorCode[]).filter((c) => STATUS_BY_CODE[c] === status);
}

/** `{ success: false, error: { code, message } }`: every error the API answers with. */
export const ErrorEnvelope = component(
  'Error',
  Type.Object(
    {
      success: Type.Literal(false),
      error: Type.Object(
        {
          code: Type.String({ description: 'Machine-readable error code (README, API).' }),
          message: Type.String({ description: 'What went wrong, for a person; a 400 names the field.' }),
        },
        { additionalProperties: false },
      ),
      owner: Type.Optional(
        Type.Object(
          { instanceId: Type.String(), url: Type.Union([Type.String(), Type.Null()]) },
          { additionalProperties: false, description: 'With `OWNED_ELSEWHERE` (409): the instance that owns the account.' },
        ),
      ),
    },
    { additionalProperties: false, description: 'The error envelope of every failed request.' },
  ),
);
export type ErrorEnvelope = Static<typeof ErrorEnvelope>;

const ERROR_DESCRIPTIONS: Readonly<Record<number, string>> = {
  400: 'Bad input: a parameter, the query, or the body (the message names the field). Nothing changed.',
  401: 'Missing, wrong, unknown or revoked bearer token (`WWW-Authenticate: Bearer`).',
  403: 'An API key whose scopes or accounts do not cover the request.',
  404: 'No such account, thread, message or file.',
  405: 'Wrong method for this path (`Allow` lists the right ones).',
  409:
    'Conflicts with what exists (the id is taken, the message was already sent), or `OWNED_ELSEWHERE`: ' +
    'another instance owns the account and the command could not be forwarded (`owner` names it).',
  413: 'The request body is over the limit (64 KiB by default); the connection is closed.',
  416: 'The `Range` cannot be served (`Content-Range: bytes */size` when the size is known).',
  500: 'Internal error; the details are in the server log, never in the answer.',
  502: 'WhatsApp failed (sending, or the media CDN).',
  503:
    'Not available now: shutting down, the account is not running or not connected (`LEASE_LOST`: it just moved ' +
    'to another instance), the store is unreachable or did not commit in time.',
};

/** The error envelope at one status, with the codes that status can carry. */
export function errorResponse(status: number, description = ERROR_DESCRIPTIONS[status] ?? 'Error'): JsonResponseSpec {
  const codes = codesFor(status);
  return {
    description: `${description} Codes: ${codes.map((c) => `\`${c}\``).join(', ')}.`,
    schema: ErrorEnvelope,
  };
}

// ----------------------------------------------------------------------------------------------------
// The route schema

export interface RouteSchema {
  /** Unique across the API: the OpenAPI `operationId`. */
  operationId: string;
  summary: string;
  description?: string;
  tags: readonly string[];
  params?: TObject;
  query?: TObject;
  /** The JSON request body. */
  body?: TSchema;
  /** An empty body counts as `{}` (e.g. `POST /api/whatsapp/accounts` without an id). */
  bodyOptional?: boolean;
  /** Every status the route answers with itself. The common errors (400, 401, 403, 404, 413, 500, 503) are added by `responsesOf`. */
  responses: Readonly<Record<number, ResponseSpec>>;
}

/**
 * Every status a route can answer with: its own, plus what the server answers for any route of its kind
 * (401 without the token, 400 for bad input, 404 for an unknown id, 413 for a big body, 500, and 503
 * while shutting down). A route's own entry for one of these wins.
 */
export function responsesOf(schema: RouteSchema, route: { open: boolean; body: boolean }): Record<number, ResponseSpec> {
  const out: Record<number, ResponseSpec> = {};
  const hasInput = schema.params !== undefined || schema.query !== undefined || schema.body !== undefined;
  if (hasInput) out[400] = errorResponse(400);
  if (!route.open) out[401] = errorResponse(401);
  if (!route.open) out[403] = errorResponse(403);
  if (schema.params !== undefined) out[404] = errorResponse(404);
  if (route.body) out[413] = errorResponse(413);
  out[500] = errorResponse(500);
  out[503] = errorResponse(503);
  return { ...out, ...schema.responses };
}

// ----------------------------------------------------------------------------------------------------
// Shared pieces

/** `{ success: true, … }`: the success envelope. */
export const SuccessTrue = Type.Literal(true);

/** A command that runs on the account's owner instance: forwarded there, or 409 `OWNED_ELSEWHERE` (README, Routing). */
export const OWNED_ELSEWHERE_409 = errorResponse(
  409,
  '`OWNED_ELSEWHERE`: another instance of the fleet owns the account and the command could not be forwarded (`owner` names it).',
);
