export { ENVELOPE_FORMAT, buildEnvelopeBytes, canonicalJson, isEnvelopeOf, type DropzoneEnvelope } from './envelope.js';
export {
  EXTERNAL_REF,
  FINAL_NAME,
  MAX_FILE_NAME,
  assertDocumentType,
  finalFileName,
  isTempFileOf,
  keyHash,
  probeFileName,
  tempFileName,
} from './file-name.js';
export { DocumentInvalidError } from './document-invalid.js';
export { DEFAULT_LAYOUT, externalRefOf, typeFolderOf, type DropzoneLayout } from './layout.js';
export {
  DEFAULT_MAX_FILE_BYTES,
  MAX_FILE_BYTES,
  MIN_FILE_BYTES,
  resolveAcknowledgements,
  resolveFilePrefix,
  resolveLayout,
  resolveMaxFileBytes,
  type ConfigInvalid,
  type DropzoneFormatOptions,
} from './options.js';
export { MAX_ACK_BYTES, MAX_ERR_BYTES, MAX_REASON_CHARS, ackDetails, deliveryStatusOf, reasonText, type MarkerEntry, type MarkerReader } from './acknowledgements.js';
