export { default, createSftpDropzoneConnector, CONNECTOR_TYPE, type SftpDropzoneConnector, type SftpDropzoneConnectorOptions } from './connector.js';
export type { SftpDropzoneConfig, SftpDropzoneConfigInput } from './config.js';
export { SFTP_ERRORS, type SftpErrorCode } from './errors.js';
export { fingerprintOf } from './ssh.js';
