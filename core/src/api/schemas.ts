/** JSON Schemas of the API's bodies. Response schemas list every field: nothing unlisted can slip out. */

export const connectionViewSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'connectorType', 'name', 'status', 'config', 'secretFields', 'createdAt', 'updatedAt', 'lastTest'],
  properties: {
    id: { type: 'string', format: 'uuid' },
    connectorType: { type: 'string' },
    name: { type: 'string' },
    status: { type: 'string', enum: ['ACTIVE', 'DISABLED'] },
    config: {
      type: 'object',
      additionalProperties: true,
      description: 'The config without any writeOnly (secret) property, at any depth.',
    },
    secretFields: {
      type: 'array',
      items: { type: 'string' },
      description: 'JSON pointers of the secret (writeOnly) fields that are set.',
    },
    createdAt: { type: 'string', format: 'date-time' },
    updatedAt: { type: 'string', format: 'date-time' },
    lastTest: {
      type: ['object', 'null'],
      additionalProperties: false,
      required: ['at', 'ok', 'latencyMs'],
      properties: {
        at: { type: 'string', format: 'date-time' },
        ok: { type: 'boolean' },
        latencyMs: { type: 'integer' },
        message: { type: 'string' },
      },
    },
    configError: {
      type: 'object',
      additionalProperties: false,
      required: ['code', 'message'],
      description:
        'Present only when the stored config does not decrypt (its key is not loaded, or the row was altered); config and secretFields are then empty. PATCH the whole config to replace it.',
      properties: { code: { type: 'string', enum: ['ERPC_ERR_CONFIG_DECRYPT_FAILED'] }, message: { type: 'string' } },
    },
  },
} as const;

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
