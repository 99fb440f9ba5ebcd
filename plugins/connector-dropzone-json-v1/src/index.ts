export { default, createDropzoneConnector, CONNECTOR_TYPE, type DropzoneConnectorOptions } from './connector.js';
export type { DropzoneConfig, DropzoneConfigInput, DropzoneLayout } from './config.js';
export type { DropzoneTransport, WritableFile, EntryInfo } from './transport.js';
export { createLocalTransport } from './transport.js';
export { DROPZONE_ERRORS, type DropzoneErrorCode } from './errors.js';
export { ENVELOPE_FORMAT, type DropzoneEnvelope } from '@erpc/dropzone-format';
