import { BadRequestError } from '../domain/errors.js';

/**
 * A small key/value capability of the store for process-wide state that every instance and restart
 * must agree on (first user: the cached WhatsApp Web version). Values are JSON and round-trip exactly
 * on both backends (Firestore keeps them as a JSON string, so nested arrays and integer/float
 * distinctions survive). Not a blob store: values are capped at `MAX_SETTING_BYTES`.
 */

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export interface SettingEntry {
  key: string;
  value: JsonValue;
  /** Epoch ms of the last `putSetting`, from the store's clock. */
  updatedAt: number;
}

export interface SettingsStore {
  getSetting(key: string): Promise<SettingEntry | null>;
  /** Last writer wins. Throws `BadRequestError` for a malformed key or a value that is not JSON or too large. */
  putSetting(key: string, value: JsonValue): Promise<SettingEntry>;
  /** Idempotent. */
  deleteSetting(key: string): Promise<void>;
}

export const MAX_SETTING_BYTES = 64 * 1024;

/** Safe as a Firestore document id and readable in a SQL console: `waVersion`, `media.archive:v1`. */
const KEY_FORM = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

export function assertSettingKey(key: string): string {
  if (typeof key !== 'string' || !KEY_FORM.test(key)) {
    throw new BadRequestError(
      `setting key must be 1-128 letters, digits, '.', '_', ':' or '-' (got ${JSON.stringify(String(key).slice(0, 80))})`,
    );
  }
  return key;
}

/** The stored form of a value; refuses what JSON cannot carry (NaN, undefined, functions…) instead of silently changing it. */
export function encodeSettingValue(value: JsonValue): string {
  if (!isJsonValue(value)) throw new BadRequestError('setting value must be JSON (no undefined, NaN, Infinity or class instances)');
  const json = JSON.stringify(value);
  if (Buffer.byteLength(json, 'utf8') > MAX_SETTING_BYTES) {
    throw new BadRequestError(`setting value is larger than ${MAX_SETTING_BYTES} bytes as JSON`);
  }
  return json;
}

export function decodeSettingValue(json: string): JsonValue {
  return JSON.parse(json) as JsonValue;
}

function isJsonValue(value: unknown, depth = 0): value is JsonValue {
  if (depth > 32) return false;
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value);
  if (Array.isArray(value)) return value.every((v) => isJsonValue(v, depth + 1));
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.values(value).every((v) => isJsonValue(v, depth + 1));
  }
  return false;
}
