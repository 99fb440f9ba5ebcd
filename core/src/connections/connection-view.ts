import type { FromSchema } from 'json-schema-to-ts';

/**
 * A connection as the API shows it: `config` without any writeOnly value, `secretFields` the JSON
 * pointers of the secrets that are set, never the ciphertext. The schema is the one source of the
 * shape: the route's response schema and the {@link ConnectionView} type are both this.
 */
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

export type ConnectionView = FromSchema<typeof connectionViewSchema>;

/** The last test of a connection, as stored on its row. */
export type ConnectionTestSummary = NonNullable<ConnectionView['lastTest']>;
