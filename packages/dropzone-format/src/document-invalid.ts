/**
 * Thrown when a document cannot become a drop-folder file (bad type, empty id or key, bad
 * createdAt, a payload JSON cannot carry). Each connector turns it into its own permanent
 * ConnectorError code, keeping the message, which is written for a person and never holds a
 * config value.
 */
export class DocumentInvalidError extends Error {
  override readonly name = 'DocumentInvalidError';
}

export function documentInvalid(message: string): DocumentInvalidError {
  return new DocumentInvalidError(message);
}
