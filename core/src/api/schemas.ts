/**
 * JSON Schemas of the API's bodies. Response schemas list every field: nothing unlisted can slip out.
 * The views services return are derived from their schemas (push-types.ts, connection-view.ts).
 */
export { connectionViewSchema } from '../connections/connection-view.js';

export const configIssueSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['path', 'message'],
  properties: { path: { type: 'string', description: 'JSON pointer into the config.' }, message: { type: 'string' } },
} as const;

export const idParamsSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id'],
  properties: { id: { type: 'string', maxLength: 100 } },
} as const;

/** Every listing's body: `{"items": […], "nextCursor"?}` (keyset pagination). */
export function pageSchema<T extends object>(itemSchema: T) {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['items'],
    properties: { items: { type: 'array', items: itemSchema }, nextCursor: { type: 'string' } },
  } as const;
}

/** The error responses a route may give, for the OpenAPI document. */
export function errorResponses(...statuses: number[]): Record<number, { $ref: string }> {
  return Object.fromEntries(statuses.map((s) => [s, { $ref: 'ErrorBody#' }]));
}
